// ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics
// against the real crixd: each value is checked against what the test
// reads itself from the container's cgroup, the pod's /proc/net/dev and the
// filesystem, read before and after the call (the values move while it runs).
#include <sys/statvfs.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/parse.h"
#include "integration/pod_fixture.h"
#include "sys/fs.h"

namespace crix::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kNs = 1'000'000'000;

// name → label keys, from ListMetricDescriptors.
std::map<std::string, std::vector<std::string>> descriptors(Daemon& d) {
  v1::ListMetricDescriptorsRequest req;
  v1::ListMetricDescriptorsResponse resp;
  auto s = d.runtime()->ListMetricDescriptors(rpcContext().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& desc : resp.descriptors()) {
    EXPECT_FALSE(desc.help().empty()) << desc.name();
    EXPECT_TRUE(
        out.emplace(desc.name(), std::vector<std::string>(desc.label_keys().begin(), desc.label_keys().end())).second)
        << desc.name() << " twice";
  }
  return out;
}

// One metric's value, found by name and the values of its labels beyond
// the five every family has; -1 when absent.
int64_t value(const google::protobuf::RepeatedPtrField<v1::Metric>& metrics, const std::string& name,
              const std::vector<std::string>& extra = {}) {
  for (const auto& m : metrics) {
    if (m.name() != name || m.label_values_size() != 5 + static_cast<int>(extra.size())) continue;
    bool match = true;
    for (size_t i = 0; i < extra.size(); ++i) match = match && m.label_values(5 + static_cast<int>(i)) == extra[i];
    if (match) return static_cast<int64_t>(m.value().value());
  }
  return -1;
}

uint64_t number(const std::string& file) {
  auto text = sys::readFile(file);
  if (!text) return 0;
  std::string_view v = *text;
  while (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return parseNumber<uint64_t>(v).value_or(0);
}

uint64_t statField(const std::string& file, const std::string& key) {
  std::istringstream in(sys::readFile(file).value_or(""));
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

uint64_t lineCount(const std::string& file) {
  std::string text = sys::readFile(file).value_or("");
  return static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

class PodMetricsTest : public PodFixture {
 protected:
  // The container's cgroup directory in one v1 hierarchy (or v2's), from
  // its process's /proc/<pid>/cgroup.
  std::string cgroupDir(const std::string& id, const std::string& controller) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(true);
    v1::ContainerStatusResponse resp;
    EXPECT_TRUE(d_->runtime()->ContainerStatus(rpcContext().get(), req, &resp).ok());
    std::string info = resp.info().count("info") ? resp.info().at("info") : "";
    auto at = info.find("\"pid\":");
    EXPECT_NE(at, std::string::npos) << info;
    std::string pid = std::to_string(std::stol(info.substr(at + 6)));
    std::istringstream in(sys::readFile("/proc/" + pid + "/cgroup").value_or(""));
    std::string line;
    while (std::getline(in, line)) {
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
      if (controllers.empty() && std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"))
        return "/sys/fs/cgroup" + path;
      std::istringstream names(controllers);
      std::string name;
      while (std::getline(names, name, ','))
        if (name == controller) return "/sys/fs/cgroup/" + controller + path;
    }
    ADD_FAILURE() << "no " << controller << " cgroup for " << pid;
    return "";
  }
  v1::ListPodSandboxMetricsResponse list() {
    v1::ListPodSandboxMetricsRequest req;
    v1::ListPodSandboxMetricsResponse resp;
    auto s = d_->runtime()->ListPodSandboxMetrics(rpcContext(10000).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  // eth0's counters inside the pod, as /proc/net/dev of a container shows them.
  std::vector<uint64_t> eth0(const std::string& id) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const char* a : {"cat", "/proc/net/dev"}) req.add_cmd(a);
    req.set_timeout(10);
    v1::ExecSyncResponse resp;
    EXPECT_TRUE(d_->runtime()->ExecSync(rpcContext(20000).get(), req, &resp).ok());
    std::istringstream in(resp.stdout());
    std::string line;
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos || line.substr(0, colon).find("eth0") == std::string::npos) continue;
      std::istringstream f(line.substr(colon + 1));
      std::vector<uint64_t> v(16);
      for (auto& x : v) f >> x;
      return v;
    }
    ADD_FAILURE() << "no eth0 in " << resp.stdout();
    return std::vector<uint64_t>(16);
  }
};

TEST_F(PodMetricsTest, EveryFamilyIsDescribedAndItsValuesAreTheCgroupsOwn) {
  // A container that burns CPU under a quota (so that it is throttled) and
  // keeps a file in its writable layer; one that sleeps with two children.
  auto busyConfig = config("busy", {"sh", "-c", "head -c 3000000 /dev/zero > /tmp/big; while true; do :; done"});
  busyConfig.mutable_linux()->mutable_resources()->set_cpu_period(100000);
  busyConfig.mutable_linux()->mutable_resources()->set_cpu_quota(20000);
  std::string busy, idle;
  ASSERT_TRUE(create(busyConfig, &busy).ok());
  ASSERT_TRUE(start(busy).ok());
  ASSERT_TRUE(create(config("idle", {"sh", "-c", "sleep 3600 & sleep 3600 & exec sleep 3600"}), &idle).ok());
  ASSERT_TRUE(start(idle).ok());
  std::this_thread::sleep_for(1500ms);

  auto described = descriptors(*d_);
  for (const char* name : {"container_cpu_usage_seconds_total",
                           "container_cpu_user_seconds_total",
                           "container_cpu_system_seconds_total",
                           "container_cpu_cfs_periods_total",
                           "container_cpu_cfs_throttled_periods_total",
                           "container_cpu_cfs_throttled_seconds_total",
                           "container_memory_usage_bytes",
                           "container_memory_working_set_bytes",
                           "container_memory_rss",
                           "container_memory_cache",
                           "container_memory_swap",
                           "container_memory_failcnt",
                           "container_memory_failures_total",
                           "container_oom_events_total",
                           "container_network_receive_bytes_total",
                           "container_network_receive_packets_total",
                           "container_network_receive_errors_total",
                           "container_network_receive_packets_dropped_total",
                           "container_network_transmit_bytes_total",
                           "container_network_transmit_packets_total",
                           "container_network_transmit_errors_total",
                           "container_network_transmit_packets_dropped_total",
                           "container_fs_usage_bytes",
                           "container_fs_limit_bytes",
                           "container_fs_inodes_total",
                           "container_fs_inodes_free",
                           "container_processes",
                           "container_threads",
                           "container_threads_max",
                           "container_last_seen",
                           "container_start_time_seconds"})
    EXPECT_TRUE(described.count(name)) << name << " is not described";

  std::string busyCpu = cgroupDir(busy, "cpuacct"), busyThrottle = cgroupDir(busy, "cpu"),
              idleMem = cgroupDir(idle, "memory"), idlePids = cgroupDir(idle, "pids");
  bool v2 = std::filesystem::exists(busyCpu + "/cgroup.controllers");
  auto cpuNs = [&] {
    return v2 ? statField(busyCpu + "/cpu.stat", "usage_usec") * 1000 : number(busyCpu + "/cpuacct.usage");
  };
  auto userNs = [&] {
    return v2 ? statField(busyCpu + "/cpu.stat", "user_usec") * 1000 : number(busyCpu + "/cpuacct.usage_user");
  };
  auto throttled = [&] { return statField(busyThrottle + "/cpu.stat", "nr_throttled"); };
  auto memory = [&] { return number(idleMem + (v2 ? "/memory.current" : "/memory.usage_in_bytes")); };

  uint64_t cpuBefore = cpuNs(), userBefore = userNs(), throttledBefore = throttled(), memBefore = memory();
  auto netBefore = eth0(idle);
  int64_t before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto resp = list();
  int64_t after =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  uint64_t cpuAfter = cpuNs(), userAfter = userNs(), throttledAfter = throttled(), memAfter = memory();
  auto netAfter = eth0(idle);

  ASSERT_EQ(resp.pod_metrics_size(), 1);
  const auto& pod = resp.pod_metrics(0);
  EXPECT_EQ(pod.pod_sandbox_id(), pod_);
  ASSERT_EQ(pod.container_metrics_size(), 2);

  // Every metric has a descriptor and as many label values as its keys.
  auto checkLabels = [&](const google::protobuf::RepeatedPtrField<v1::Metric>& ms, const std::string& container,
                         const std::string& id) {
    for (const auto& m : ms) {
      ASSERT_TRUE(described.count(m.name())) << m.name();
      ASSERT_EQ(m.label_values_size(), static_cast<int>(described[m.name()].size())) << m.name();
      EXPECT_EQ(m.label_values(0), "pod");
      EXPECT_EQ(m.label_values(1), "default");
      EXPECT_EQ(m.label_values(2), container) << m.name();
      EXPECT_EQ(m.label_values(3), id) << m.name();
      EXPECT_GT(m.timestamp(), before * 1'000'000'000) << m.name();
    }
  };
  checkLabels(pod.metrics(), "", pod_);
  const v1::ContainerMetrics *busyM = nullptr, *idleM = nullptr;
  for (const auto& c : pod.container_metrics()) {
    if (c.container_id() == busy) busyM = &c;
    if (c.container_id() == idle) idleM = &c;
  }
  ASSERT_TRUE(busyM && idleM);
  checkLabels(busyM->metrics(), "busy", busy);
  checkLabels(idleM->metrics(), "idle", idle);

  // CPU: whole seconds of what the cgroup counts, between the two readings.
  int64_t cpu = value(busyM->metrics(), "container_cpu_usage_seconds_total");
  EXPECT_GE(cpu, static_cast<int64_t>(cpuBefore / kNs));
  EXPECT_LE(cpu, static_cast<int64_t>(cpuAfter / kNs));
  int64_t user = value(busyM->metrics(), "container_cpu_user_seconds_total");
  EXPECT_GE(user, static_cast<int64_t>(userBefore / kNs));
  EXPECT_LE(user, static_cast<int64_t>(userAfter / kNs));
  int64_t throttledPeriods = value(busyM->metrics(), "container_cpu_cfs_throttled_periods_total");
  EXPECT_GT(throttledBefore, 0u) << "a 20% quota throttles a busy loop";
  EXPECT_GE(throttledPeriods, static_cast<int64_t>(throttledBefore));
  EXPECT_LE(throttledPeriods, static_cast<int64_t>(throttledAfter));
  EXPECT_GE(value(busyM->metrics(), "container_cpu_cfs_periods_total"), throttledPeriods);

  // Memory of the sleeping container.
  int64_t mem = value(idleM->metrics(), "container_memory_usage_bytes");
  EXPECT_GE(mem, static_cast<int64_t>(std::min(memBefore, memAfter)) - (256 << 10));
  EXPECT_LE(mem, static_cast<int64_t>(std::max(memBefore, memAfter)) + (256 << 10));
  EXPECT_GT(mem, 0);
  EXPECT_LE(value(idleM->metrics(), "container_memory_working_set_bytes"), mem);
  EXPECT_EQ(value(idleM->metrics(), "container_oom_events_total"), 0);
  EXPECT_GE(value(idleM->metrics(), "container_memory_failures_total", {"pgfault", "hierarchy"}), 1);

  // Processes and threads: three sleeps; the pids limit is the cgroup's.
  EXPECT_EQ(value(idleM->metrics(), "container_processes"),
            static_cast<int64_t>(lineCount(idlePids + "/cgroup.procs")));
  EXPECT_EQ(value(idleM->metrics(), "container_processes"), 3);
  EXPECT_EQ(value(idleM->metrics(), "container_threads"), 3);
  EXPECT_EQ(value(idleM->metrics(), "container_threads_max"), static_cast<int64_t>(number(idlePids + "/pids.max")));
  // The pod's figures add up its containers'.
  EXPECT_EQ(value(pod.metrics(), "container_processes"), value(busyM->metrics(), "container_processes") + 3);

  // Disk: the 3 MB file is in the writable layer; the filesystem is the
  // root's, named by its device.
  std::string device;
  for (const auto& m : busyM->metrics())
    if (m.name() == "container_fs_usage_bytes") device = m.label_values(5);
  EXPECT_EQ(device.rfind("/dev/", 0), 0u) << device;
  EXPECT_GE(value(busyM->metrics(), "container_fs_usage_bytes", {device}), 3000000);
  struct statvfs fs {};
  ASSERT_EQ(::statvfs(d_->root().c_str(), &fs), 0);
  EXPECT_EQ(value(busyM->metrics(), "container_fs_limit_bytes", {device}),
            static_cast<int64_t>(fs.f_blocks * fs.f_frsize));
  EXPECT_EQ(value(busyM->metrics(), "container_fs_inodes_total", {device}), static_cast<int64_t>(fs.f_files));

  // Network: the pod's eth0, between the two readings inside the pod.
  for (auto [name, field] : {std::pair{"container_network_receive_bytes_total", 0},
                             {"container_network_receive_packets_total", 1},
                             {"container_network_receive_errors_total", 2},
                             {"container_network_receive_packets_dropped_total", 3},
                             {"container_network_transmit_bytes_total", 8},
                             {"container_network_transmit_packets_total", 9},
                             {"container_network_transmit_errors_total", 10},
                             {"container_network_transmit_packets_dropped_total", 11}}) {
    int64_t v = value(pod.metrics(), name, {"eth0"});
    EXPECT_GE(v, static_cast<int64_t>(netBefore[field])) << name;
    EXPECT_LE(v, static_cast<int64_t>(netAfter[field])) << name;
  }
  EXPECT_EQ(value(idleM->metrics(), "container_network_receive_bytes_total", {"eth0"}), -1)
      << "the network is the pod's";

  // When: the reading and the start.
  int64_t seen = value(idleM->metrics(), "container_last_seen");
  EXPECT_GE(seen, before);
  EXPECT_LE(seen, after);
  EXPECT_EQ(value(idleM->metrics(), "container_start_time_seconds"),
            static_cast<int64_t>(status(idle).started_at() / 1'000'000'000));

  // The stream sends the same pods and containers.
  v1::StreamPodSandboxMetricsRequest sreq;
  auto ctx = rpcContext(10000);
  auto reader = d_->runtime()->StreamPodSandboxMetrics(ctx.get(), sreq);
  v1::StreamPodSandboxMetricsResponse chunk;
  std::vector<std::string> streamed;
  while (reader->Read(&chunk))
    for (const auto& p : chunk.pod_sandbox_metrics()) {
      streamed.push_back(p.pod_sandbox_id());
      EXPECT_EQ(p.container_metrics_size(), 2);
      EXPECT_EQ(p.metrics_size(), pod.metrics_size());
    }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(streamed, std::vector<std::string>{pod_});
}

class IncludedMetricsTest : public PodFixture {
  std::string moreToml() override { return "[metrics]\nincluded_pod_metrics = [\"cpu\", \"process\"]\n"; }
};

TEST_F(IncludedMetricsTest, OnlyTheConfiguredGroupsAreDescribedAndSent) {
  std::string id;
  ASSERT_TRUE(create(config("c", {"sleep", "3600"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  auto described = descriptors(*d_);
  EXPECT_EQ(described.size(), 9u) << "six CPU families and three of processes";
  for (const auto& [name, keys] : described)
    EXPECT_TRUE(name.starts_with("container_cpu_") || name == "container_processes" || name == "container_threads" ||
                name == "container_threads_max")
        << name;
  v1::ListPodSandboxMetricsRequest req;
  v1::ListPodSandboxMetricsResponse resp;
  ASSERT_TRUE(d_->runtime()->ListPodSandboxMetrics(rpcContext(10000).get(), req, &resp).ok());
  ASSERT_EQ(resp.pod_metrics_size(), 1);
  ASSERT_EQ(resp.pod_metrics(0).container_metrics_size(), 1);
  for (const auto& m : resp.pod_metrics(0).container_metrics(0).metrics())
    EXPECT_TRUE(described.count(m.name())) << m.name() << " is not of an included group";
  EXPECT_EQ(value(resp.pod_metrics(0).container_metrics(0).metrics(), "container_processes"), 1);
}

}  // namespace
}  // namespace crix::test
