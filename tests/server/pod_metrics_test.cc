#include "server/pod_metrics.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "config/config.h"

namespace crix::server {
namespace {

namespace v1 = ::runtime::v1;

lifecycle::PodStats samplePod() {
  lifecycle::PodStats p;
  p.pod.id = "pod1";
  p.pod.config.metadata.name = "web";
  p.pod.config.metadata.ns = "prod";
  p.timestamp = 1'700'000'000'500'000'000;
  p.cgroup.cpuUsageNs = 2'600'000'000;
  p.cgroup.processes = 4;
  p.interfaces.push_back({.name = "eth0", .rxBytes = 100, .rxPackets = 2, .txBytes = 300, .txDropped = 7});
  lifecycle::ContainerStats c;
  c.container.id = "c1";
  c.container.config.name = "app";
  c.container.config.image = "busybox:1";
  c.container.startedAt = 1'699'999'990'000'000'000;
  c.timestamp = p.timestamp;
  c.cgroup.cpuUsageNs = 2'600'000'000;
  c.cgroup.cpuThrottledNs = 999'999'999;
  c.cgroup.memoryUsage = 4096;
  c.cgroup.pgmajfaultHierarchy = 5;
  c.cgroup.oomKills = 1;
  c.cgroup.processes = 4;
  c.writableBytes = 12345;
  p.containers.push_back(c);
  return p;
}

std::map<std::string, int> describedKeys(const std::vector<std::string>& groups) {
  google::protobuf::RepeatedPtrField<v1::MetricDescriptor> ds;
  fillMetricDescriptors(groups, &ds);
  std::map<std::string, int> out;
  for (const auto& d : ds) {
    EXPECT_TRUE(out.emplace(d.name(), d.label_keys_size()).second) << d.name() << " twice";
    EXPECT_EQ(d.label_keys(0), "pod");
    EXPECT_EQ(d.label_keys(3), "id");
  }
  return out;
}

uint64_t find(const google::protobuf::RepeatedPtrField<v1::Metric>& ms, const std::string& name,
              const std::vector<std::string>& extra = {}) {
  for (const auto& m : ms) {
    if (m.name() != name) continue;
    std::vector<std::string> tail(m.label_values().begin() + 5, m.label_values().end());
    if (tail == extra) return m.value().value();
  }
  ADD_FAILURE() << "no " << name;
  return 0;
}

// The kubelet pairs each metric's label values with its descriptor's keys:
// every metric sent is described with as many keys as it has values, and
// no series (name and labels) is sent twice.
TEST(PodMetrics, EveryMetricMatchesItsDescriptorAndNoSeriesRepeats) {
  auto keys = describedKeys(config::kPodMetricGroups);
  EXPECT_EQ(keys.size(), 31u);
  v1::PodSandboxMetrics out;
  fillPodMetrics(samplePod(), lifecycle::Filesystem{.device = "/dev/vda1", .bytes = 1000, .inodes = 50},
                 config::kPodMetricGroups, &out);
  std::set<std::string> series;
  auto check = [&](const google::protobuf::RepeatedPtrField<v1::Metric>& ms) {
    for (const auto& m : ms) {
      ASSERT_TRUE(keys.count(m.name())) << m.name();
      EXPECT_EQ(m.label_values_size(), keys[m.name()]) << m.name();
      std::string s = m.name();
      for (const auto& v : m.label_values()) s += "|" + v;
      EXPECT_TRUE(series.insert(s).second) << s;
    }
  };
  check(out.metrics());
  ASSERT_EQ(out.container_metrics_size(), 1);
  check(out.container_metrics(0).metrics());
}

TEST(PodMetrics, ValuesAreTheReadingsInTheCrisUnits) {
  v1::PodSandboxMetrics out;
  fillPodMetrics(samplePod(), lifecycle::Filesystem{.device = "/dev/vda1", .bytes = 1000, .inodes = 50},
                 config::kPodMetricGroups, &out);
  EXPECT_EQ(out.pod_sandbox_id(), "pod1");
  const auto& c = out.container_metrics(0);
  EXPECT_EQ(c.container_id(), "c1");
  EXPECT_EQ(find(c.metrics(), "container_cpu_usage_seconds_total"), 2u) << "whole seconds";
  EXPECT_EQ(find(c.metrics(), "container_cpu_cfs_throttled_seconds_total"), 0u);
  EXPECT_EQ(find(c.metrics(), "container_memory_usage_bytes"), 4096u);
  EXPECT_EQ(find(c.metrics(), "container_memory_failures_total", {"pgmajfault", "hierarchy"}), 5u);
  EXPECT_EQ(find(c.metrics(), "container_oom_events_total"), 1u);
  EXPECT_EQ(find(c.metrics(), "container_fs_usage_bytes", {"/dev/vda1"}), 12345u);
  EXPECT_EQ(find(c.metrics(), "container_fs_limit_bytes", {"/dev/vda1"}), 1000u);
  EXPECT_EQ(find(c.metrics(), "container_start_time_seconds"), 1'699'999'990u);
  EXPECT_EQ(find(c.metrics(), "container_last_seen"), 1'700'000'000u);
  for (const auto& m : c.metrics()) {
    EXPECT_EQ(m.timestamp(), 1'700'000'000'500'000'000) << m.name();
    EXPECT_EQ(m.label_values(0), "web");
    EXPECT_EQ(m.label_values(1), "prod");
    EXPECT_EQ(m.label_values(2), "app");
    EXPECT_EQ(m.label_values(3), "c1");
    EXPECT_EQ(m.label_values(4), "busybox:1");
    bool counter = (m.name().ends_with("_total") && m.name() != "container_fs_inodes_total") ||
                   m.name() == "container_memory_failcnt";
    EXPECT_EQ(m.metric_type(), counter ? v1::COUNTER : v1::GAUGE) << m.name();
  }
  // The network is the pod's, per interface; the pod's own labels.
  EXPECT_EQ(find(out.metrics(), "container_network_transmit_packets_dropped_total", {"eth0"}), 7u);
  EXPECT_EQ(find(out.metrics(), "container_processes"), 4u);
  for (const auto& m : out.metrics()) {
    EXPECT_EQ(m.label_values(2), "") << m.name();
    EXPECT_EQ(m.label_values(3), "pod1") << m.name();
  }
}

TEST(PodMetrics, OnlyTheIncludedGroupsAreDescribedAndSent) {
  std::vector<std::string> groups = {"network", "misc"};
  auto keys = describedKeys(groups);
  EXPECT_EQ(keys.size(), 10u);
  v1::PodSandboxMetrics out;
  fillPodMetrics(samplePod(), std::nullopt, groups, &out);
  EXPECT_EQ(out.metrics_size(), 9) << "eight network families of eth0 and last seen";
  EXPECT_EQ(out.container_metrics(0).metrics_size(), 2) << "last seen and start time";
  for (const auto& m : out.container_metrics(0).metrics()) EXPECT_TRUE(keys.count(m.name())) << m.name();

  v1::PodSandboxMetrics none;
  fillPodMetrics(samplePod(), std::nullopt, {}, &none);
  EXPECT_EQ(none.metrics_size(), 0);
  ASSERT_EQ(none.container_metrics_size(), 1) << "the container is listed, with no metric";
  EXPECT_EQ(none.container_metrics(0).metrics_size(), 0);
}

}  // namespace
}  // namespace crix::server
