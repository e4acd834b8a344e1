// Huge page limits on a live cgroup. `runc update` carries the cpu, memory,
// pids and unified limits but not the huge page ones, so an update of a
// running container writes those itself, into the hugetlb files of the
// directory its cgroupsPath names.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cgroups/host_layout.h"
#include "common/error.h"

namespace crix::cgroups {

// `limits` maps the CRI's page size ("2MB") to bytes. v1 (legacy, hybrid):
// <root>/hugetlb/<dir>/hugetlb.<size>.limit_in_bytes; unified:
// <root>/<dir>/hugetlb.<size>.max. An error names the file that refused.
Result<> writeHugetlbLimits(const std::string& cgroupsPath, HostMode mode,
                            const std::map<std::string, uint64_t>& limits, const std::string& root = "/sys/fs/cgroup");

}  // namespace crix::cgroups
