#include "server/pod_metrics.h"

#include <algorithm>

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

enum class Extra { None, Interface, Device, Failure };

struct Family {
  const char* group;
  const char* name;
  const char* help;
  v1::MetricType type;
  Extra extra = Extra::None;
};

constexpr auto kCounter = v1::COUNTER;
constexpr auto kGauge = v1::GAUGE;

// cAdvisor's names and types; the help lines are ours.
constexpr Family kCpuUsage{"cpu", "container_cpu_usage_seconds_total", "CPU time used, in seconds.", kCounter};
constexpr Family kCpuUser{"cpu", "container_cpu_user_seconds_total", "CPU time used in user mode, in seconds.",
                          kCounter};
constexpr Family kCpuSystem{"cpu", "container_cpu_system_seconds_total", "CPU time used in kernel mode, in seconds.",
                            kCounter};
constexpr Family kCfsPeriods{"cpu", "container_cpu_cfs_periods_total", "CFS enforcement periods that have elapsed.",
                             kCounter};
constexpr Family kCfsThrottledPeriods{"cpu", "container_cpu_cfs_throttled_periods_total",
                                      "CFS periods in which the cgroup was throttled.", kCounter};
constexpr Family kCfsThrottledSeconds{"cpu", "container_cpu_cfs_throttled_seconds_total",
                                      "Time the cgroup spent throttled, in seconds.", kCounter};
constexpr Family kMemoryUsage{"memory", "container_memory_usage_bytes", "Memory in use, page cache included, in bytes.",
                              kGauge};
constexpr Family kWorkingSet{"memory", "container_memory_working_set_bytes",
                             "Memory in use less inactive file pages, in bytes (what evictions go by).", kGauge};
constexpr Family kRss{"memory", "container_memory_rss", "Anonymous memory, in bytes.", kGauge};
constexpr Family kCache{"memory", "container_memory_cache", "Page cache, in bytes.", kGauge};
constexpr Family kSwap{"memory", "container_memory_swap", "Swap in use, in bytes.", kGauge};
constexpr Family kFailcnt{"memory", "container_memory_failcnt",
                          "Times memory usage reached the limit (cgroup v1; 0 on v2).", kCounter};
constexpr Family kFailures{"memory", "container_memory_failures_total",
                           "Page faults (failure_type pgfault or pgmajfault), in the cgroup alone (scope container) "
                           "or with its descendants (scope hierarchy).",
                           kCounter, Extra::Failure};
constexpr Family kOomEvents{"memory", "container_oom_events_total", "Times the OOM killer ran in the cgroup.",
                            kCounter};
constexpr Family kRxBytes{"network", "container_network_receive_bytes_total", "Bytes received.", kCounter,
                          Extra::Interface};
constexpr Family kRxPackets{"network", "container_network_receive_packets_total", "Packets received.", kCounter,
                            Extra::Interface};
constexpr Family kRxErrors{"network", "container_network_receive_errors_total", "Errors while receiving.", kCounter,
                           Extra::Interface};
constexpr Family kRxDropped{"network", "container_network_receive_packets_dropped_total",
                            "Packets dropped while receiving.", kCounter, Extra::Interface};
constexpr Family kTxBytes{"network", "container_network_transmit_bytes_total", "Bytes sent.", kCounter,
                          Extra::Interface};
constexpr Family kTxPackets{"network", "container_network_transmit_packets_total", "Packets sent.", kCounter,
                            Extra::Interface};
constexpr Family kTxErrors{"network", "container_network_transmit_errors_total", "Errors while sending.", kCounter,
                           Extra::Interface};
constexpr Family kTxDropped{"network", "container_network_transmit_packets_dropped_total",
                            "Packets dropped while sending.", kCounter, Extra::Interface};
constexpr Family kFsUsage{"disk", "container_fs_usage_bytes", "Bytes the writable layer takes on its filesystem.",
                          kGauge, Extra::Device};
constexpr Family kFsLimit{"disk", "container_fs_limit_bytes", "Size of the writable layer's filesystem, in bytes.",
                          kGauge, Extra::Device};
constexpr Family kFsInodes{"disk", "container_fs_inodes_total", "Inodes of the writable layer's filesystem.", kGauge,
                           Extra::Device};
constexpr Family kFsInodesFree{"disk", "container_fs_inodes_free", "Free inodes of the writable layer's filesystem.",
                               kGauge, Extra::Device};
constexpr Family kProcesses{"process", "container_processes", "Processes in the cgroup.", kGauge};
constexpr Family kThreads{"process", "container_threads", "Threads in the cgroup.", kGauge};
constexpr Family kThreadsMax{"process", "container_threads_max", "The cgroup's pids limit; 0: none.", kGauge};
constexpr Family kLastSeen{"misc", "container_last_seen", "When the runtime last read the container, in Unix seconds.",
                           kGauge};
constexpr Family kStartTime{"misc", "container_start_time_seconds", "When the container started, in Unix seconds.",
                            kGauge};

constexpr const Family* kFamilies[] = {&kCpuUsage,
                                       &kCpuUser,
                                       &kCpuSystem,
                                       &kCfsPeriods,
                                       &kCfsThrottledPeriods,
                                       &kCfsThrottledSeconds,
                                       &kMemoryUsage,
                                       &kWorkingSet,
                                       &kRss,
                                       &kCache,
                                       &kSwap,
                                       &kFailcnt,
                                       &kFailures,
                                       &kOomEvents,
                                       &kRxBytes,
                                       &kRxPackets,
                                       &kRxErrors,
                                       &kRxDropped,
                                       &kTxBytes,
                                       &kTxPackets,
                                       &kTxErrors,
                                       &kTxDropped,
                                       &kFsUsage,
                                       &kFsLimit,
                                       &kFsInodes,
                                       &kFsInodesFree,
                                       &kProcesses,
                                       &kThreads,
                                       &kThreadsMax,
                                       &kLastSeen,
                                       &kStartTime};

const std::vector<std::string> kBaseLabels = {"pod", "namespace", "container", "id", "image"};

std::vector<std::string> labelKeys(const Family& f) {
  std::vector<std::string> keys = kBaseLabels;
  switch (f.extra) {
    case Extra::None: break;
    case Extra::Interface: keys.push_back("interface"); break;
    case Extra::Device: keys.push_back("device"); break;
    case Extra::Failure:
      keys.push_back("failure_type");
      keys.push_back("scope");
      break;
  }
  return keys;
}

constexpr uint64_t kNsPerSecond = 1'000'000'000;

// Appends the metrics of one object (a container, or the pod) whose base
// label values are `base`, leaving out the families not in `groups`.
class Emitter {
 public:
  Emitter(const std::vector<std::string>& groups, int64_t timestamp, std::vector<std::string> base,
          google::protobuf::RepeatedPtrField<v1::Metric>* out)
      : groups_(groups), timestamp_(timestamp), base_(std::move(base)), out_(out) {}

  bool wants(const char* group) const { return std::find(groups_.begin(), groups_.end(), group) != groups_.end(); }

  void add(const Family& f, uint64_t value, std::initializer_list<std::string> extra = {}) {
    if (!wants(f.group)) return;
    auto* m = out_->Add();
    m->set_name(f.name);
    m->set_timestamp(timestamp_);
    m->set_metric_type(f.type);
    for (const auto& v : base_) m->add_label_values(v);
    for (const auto& v : extra) m->add_label_values(v);
    m->mutable_value()->set_value(value);
  }

  // CPU, memory and processes: a container's cgroup, or a pod's sums.
  void cgroup(const cgroups::Stats& s) {
    add(kCpuUsage, s.cpuUsageNs / kNsPerSecond);
    add(kCpuUser, s.cpuUserNs / kNsPerSecond);
    add(kCpuSystem, s.cpuSystemNs / kNsPerSecond);
    add(kCfsPeriods, s.cpuPeriods);
    add(kCfsThrottledPeriods, s.cpuThrottledPeriods);
    add(kCfsThrottledSeconds, s.cpuThrottledNs / kNsPerSecond);
    add(kMemoryUsage, s.memoryUsage);
    add(kWorkingSet, s.memoryWorkingSet);
    add(kRss, s.memoryRss);
    add(kCache, s.memoryCache);
    add(kSwap, s.memorySwap);
    add(kFailcnt, s.memoryFailcnt);
    add(kFailures, s.pgfault, {"pgfault", "container"});
    add(kFailures, s.pgmajfault, {"pgmajfault", "container"});
    add(kFailures, s.pgfaultHierarchy, {"pgfault", "hierarchy"});
    add(kFailures, s.pgmajfaultHierarchy, {"pgmajfault", "hierarchy"});
    add(kOomEvents, s.oomKills);
    add(kProcesses, s.processes);
    add(kThreads, s.threads);
    add(kThreadsMax, s.threadsMax);
  }

 private:
  const std::vector<std::string>& groups_;
  int64_t timestamp_;
  std::vector<std::string> base_;
  google::protobuf::RepeatedPtrField<v1::Metric>* out_;
};

uint64_t unixSeconds(int64_t ns) {
  return ns > 0 ? static_cast<uint64_t>(ns) / kNsPerSecond : 0;
}

}  // namespace

void fillMetricDescriptors(const std::vector<std::string>& groups,
                           google::protobuf::RepeatedPtrField<v1::MetricDescriptor>* out) {
  for (const Family* f : kFamilies) {
    if (std::find(groups.begin(), groups.end(), f->group) == groups.end()) continue;
    auto* d = out->Add();
    d->set_name(f->name);
    d->set_help(f->help);
    for (const auto& k : labelKeys(*f)) d->add_label_keys(k);
  }
}

void fillPodMetrics(const lifecycle::PodStats& pod, const std::optional<lifecycle::Filesystem>& fs,
                    const std::vector<std::string>& groups, v1::PodSandboxMetrics* out) {
  const auto& meta = pod.pod.config.metadata;
  out->set_pod_sandbox_id(pod.pod.id);
  Emitter podLevel(groups, pod.timestamp, {meta.name, meta.ns, "", pod.pod.id, ""}, out->mutable_metrics());
  podLevel.cgroup(pod.cgroup);
  for (const auto& i : pod.interfaces) {
    podLevel.add(kRxBytes, i.rxBytes, {i.name});
    podLevel.add(kRxPackets, i.rxPackets, {i.name});
    podLevel.add(kRxErrors, i.rxErrors, {i.name});
    podLevel.add(kRxDropped, i.rxDropped, {i.name});
    podLevel.add(kTxBytes, i.txBytes, {i.name});
    podLevel.add(kTxPackets, i.txPackets, {i.name});
    podLevel.add(kTxErrors, i.txErrors, {i.name});
    podLevel.add(kTxDropped, i.txDropped, {i.name});
  }
  podLevel.add(kLastSeen, unixSeconds(pod.timestamp));

  for (const auto& c : pod.containers) {
    auto* cm = out->add_container_metrics();
    cm->set_container_id(c.container.id);
    Emitter e(groups, c.timestamp,
              {meta.name, meta.ns, c.container.config.name, c.container.id, c.container.config.image},
              cm->mutable_metrics());
    e.cgroup(c.cgroup);
    if (fs) {
      e.add(kFsUsage, static_cast<uint64_t>(std::max<int64_t>(c.writableBytes, 0)), {fs->device});
      e.add(kFsLimit, fs->bytes, {fs->device});
      e.add(kFsInodes, fs->inodes, {fs->device});
      e.add(kFsInodesFree, fs->inodesFree, {fs->device});
    }
    e.add(kLastSeen, unixSeconds(c.timestamp));
    if (c.container.startedAt > 0) e.add(kStartTime, unixSeconds(c.container.startedAt));
  }
}

}  // namespace crix::server
