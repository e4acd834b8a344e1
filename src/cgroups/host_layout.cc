#include "cgroups/host_layout.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include "sys/fs.h"

namespace crix::cgroups {

HostLayout readHostLayout(const std::string& root) {
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) return {};
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return {HostMode::Unified, ""};
  if (fs.f_type != TMPFS_MAGIC) return {};
  struct statfs unified {};
  if (::statfs((root + "/unified").c_str(), &unified) != 0 || unified.f_type != CGROUP2_SUPER_MAGIC)
    return {HostMode::Legacy, ""};
  auto controllers = sys::readFile(root + "/unified/cgroup.controllers");
  std::string list = controllers ? *controllers : "";
  while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.pop_back();
  return {HostMode::Hybrid, list};
}

std::optional<std::string> crunRefusal(const HostLayout& layout) {
  if (layout.mode != HostMode::Hybrid || layout.v2Controllers.empty()) return std::nullopt;
  return "crun refuses this host's hybrid cgroups: the v2 hierarchy at /sys/fs/cgroup/unified holds controllers (" +
         layout.v2Controllers +
         ") and crun runs no container until they move back to v1 or the host boots with cgroup v2 only "
         "(systemd.unified_cgroup_hierarchy=1); packaging/crun-v1 runs crun with that hierarchy hidden";
}

const char* hostModeName(HostMode mode) {
  switch (mode) {
    case HostMode::Legacy: return "legacy (cgroup v1)";
    case HostMode::Hybrid: return "hybrid (cgroup v1 with a v2 hierarchy)";
    case HostMode::Unified: return "unified (cgroup v2)";
    case HostMode::Unknown: break;
  }
  return "unknown";
}

}  // namespace crix::cgroups
