// How the host mounts its cgroup hierarchies, as OCI runtimes see it:
//
//   legacy   /sys/fs/cgroup is a tmpfs of v1 hierarchies (and no v2 one)
//   hybrid   v1 hierarchies, plus a v2 one at /sys/fs/cgroup/unified
//   unified  /sys/fs/cgroup is the v2 hierarchy
//
// crun accepts a hybrid layout only while the v2 hierarchy holds no
// controller; runc and runsc use the v1 hierarchies and do not mind.
#pragma once

#include <optional>
#include <string>

namespace crix::cgroups {

enum class HostMode { Legacy, Hybrid, Unified, Unknown };

struct HostLayout {
  HostMode mode = HostMode::Unknown;
  std::string v2Controllers;  // of the hybrid v2 hierarchy, space separated
};

// Reads the layout under `root` (the cgroup mount point, /sys/fs/cgroup).
HostLayout readHostLayout(const std::string& root = "/sys/fs/cgroup");

const char* hostModeName(HostMode mode);

// Why crun refuses a host with this layout, or nothing: crun runs no
// container on a hybrid host whose v2 hierarchy holds a controller.
std::optional<std::string> crunRefusal(const HostLayout& layout);

}  // namespace crix::cgroups
