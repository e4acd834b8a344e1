// Resource usage read from a container's cgroup, v1 (per-controller
// hierarchies) or v2 (unified).
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"

namespace crix::cgroups {

struct Stats {
  uint64_t cpuUsageNs = 0;
  uint64_t memoryUsage = 0;
  uint64_t memoryWorkingSet = 0;  // usage minus inactive file pages, as the kubelet counts it
  uint64_t memoryRss = 0;
  bool oomKilled = false;  // the kernel's OOM killer ran in this cgroup
};

// `cgroupsPath` is the one given to the runtime, in either driver's form
// (cgroups/paths.h), e.g. "/crix/crix-<id>".
Result<Stats> readStats(const std::string& cgroupsPath, const std::string& root = "/sys/fs/cgroup");

}  // namespace crix::cgroups
