// Resource usage read from a container's cgroup, v1 (per-controller
// hierarchies) or v2 (unified). A value the kernel does not keep (failcnt
// on v2, say) reads as 0.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"

namespace crix::cgroups {

struct Stats {
  uint64_t cpuUsageNs = 0;
  uint64_t cpuUserNs = 0, cpuSystemNs = 0;
  // CFS bandwidth control: enforcement periods elapsed, those in which the
  // cgroup was throttled, and the time it spent throttled.
  uint64_t cpuPeriods = 0, cpuThrottledPeriods = 0, cpuThrottledNs = 0;
  uint64_t memoryUsage = 0;
  uint64_t memoryWorkingSet = 0;  // usage minus inactive file pages, as the kubelet counts it
  uint64_t memoryRss = 0;
  uint64_t memoryCache = 0;  // page cache
  uint64_t memorySwap = 0;
  uint64_t memoryFailcnt = 0;  // times usage hit the limit (v1 only)
  // Page faults in this cgroup alone and with its descendants.
  uint64_t pgfault = 0, pgmajfault = 0, pgfaultHierarchy = 0, pgmajfaultHierarchy = 0;
  uint64_t oomKills = 0;   // times the kernel's OOM killer ran in this cgroup
  bool oomKilled = false;  // oomKills > 0
  uint64_t processes = 0, threads = 0;
  uint64_t threadsMax = 0;  // pids.max; 0: no limit
};

// `cgroupsPath` is the one given to the runtime, in either driver's form
// (cgroups/paths.h), e.g. "/crix/crix-<id>".
Result<Stats> readStats(const std::string& cgroupsPath, const std::string& root = "/sys/fs/cgroup");

// Adds b's usage to a (a pod's figures over its containers).
void addUsage(Stats& a, const Stats& b);

}  // namespace crix::cgroups
