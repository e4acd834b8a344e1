// The cgroup controllers an OCI runtime can use for crix's containers on
// this host, found once at start-up, so that a container's spec asks only
// for limits the runtime can apply:
//
//   legacy, hybrid   the v1 hierarchies mounted under the cgroup root: runc,
//                    runsc and crun (packaging/crun-v1) manage those; a hybrid
//                    host's v2 hierarchy (often holding just hugetlb) is not
//                    one they set limits in
//   unified          the controllers the v2 root offers (cgroup.controllers)
//
// plus the huge page sizes the kernel has and whether memory+swap can be
// limited (swap accounting on).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "cgroups/host_layout.h"

namespace crix::cgroups {

struct Controllers {
  HostMode mode = HostMode::Unknown;
  std::set<std::string> names;          // "cpu", "memory", "hugetlb", ...
  std::set<std::string> hugepageSizes;  // as the CRI names them: "2MB", "1GB"
  bool swap = false;
  bool has(std::string_view name) const { return names.count(std::string(name)) > 0; }
  bool operator==(const Controllers&) const = default;
};

// From the text of /proc/self/mountinfo; the files it reads (v2's
// cgroup.controllers, v1 memory's memsw files, the huge page directories)
// are under the paths the mount table and `hugepagesDir` name, so a test
// hands it a fake tree.
Controllers probeControllers(std::string_view mountinfo, const std::string& cgroupRoot,
                             const std::string& hugepagesDir);

// This host: /proc/self/mountinfo, /sys/fs/cgroup, /sys/kernel/mm/hugepages.
Controllers probeHostControllers();

// A huge page directory's size ("hugepages-2048kB") in the CRI's spelling
// ("2MB"); empty when the name is not one.
std::string hugepageSizeName(std::string_view dirName);

}  // namespace crix::cgroups
