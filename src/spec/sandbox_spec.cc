#include "spec/sandbox_spec.h"

namespace crix::spec {

using nlohmann::json;

const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> paths = {"/proc/acpi",
                                                 "/proc/asound",
                                                 "/proc/kcore",
                                                 "/proc/keys",
                                                 "/proc/latency_stats",
                                                 "/proc/timer_list",
                                                 "/proc/timer_stats",
                                                 "/proc/sched_debug",
                                                 "/proc/scsi",
                                                 "/sys/firmware",
                                                 "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

json kernelMounts(bool privileged, bool cgroup) {
  const char* access = privileged ? "rw" : "ro";
  json mounts = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", access}}},
  });
  if (cgroup)
    mounts.push_back({{"destination", "/sys/fs/cgroup"},
                      {"type", "cgroup"},
                      {"source", "cgroup"},
                      {"options", {"nosuid", "noexec", "nodev", "relatime", access}}});
  return mounts;
}

json buildSandboxSpec(const SandboxSpecInput& in) {
  json mounts = kernelMounts(false, false);
  if (!in.shmPath.empty())
    mounts.push_back(
        {{"destination", "/dev/shm"}, {"type", "bind"}, {"source", in.shmPath}, {"options", {"rbind", "rw"}}});

  auto joined = [](const char* type, const std::string& path) {
    json n{{"type", type}};
    if (!path.empty()) n["path"] = path;
    return n;
  };
  json namespaces = json::array({{{"type", "mount"}}, joined("uts", in.utsnsPath)});
  if (!in.hostPid) namespaces.push_back({{"type", "pid"}});
  if (!in.hostIpc) namespaces.push_back(joined("ipc", in.ipcnsPath));
  if (!in.netnsPath.empty()) namespaces.push_back({{"type", "network"}, {"path", in.netnsPath}});

  json spec{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", in.args},
        {"env", in.env},
        {"cwd", "/"},
        {"capabilities", {{"bounding", json::array()}, {"effective", json::array()}, {"permitted", json::array()}}},
        {"noNewPrivileges", true},
        {"oomScoreAdj", in.oomScoreAdj}}},
      {"root", {{"path", in.rootfs}, {"readonly", in.readonlyRootfs}}},
      {"hostname", in.hostname},
      {"mounts", mounts},
      {"annotations", in.annotations},
      {"linux",
       {{"namespaces", namespaces},
        {"cgroupsPath", in.cgroupsPath},
        {"sysctl", in.sysctls},
        {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
        {"maskedPaths", defaultMaskedPaths()},
        {"readonlyPaths", defaultReadonlyPaths()}}},
  };
  if (in.hostname.empty()) spec.erase("hostname");
  addUserNamespace(in.userns, spec);
  return spec;
}

void addUserNamespace(const UserNamespace& userns, json& spec) {
  if (userns.path.empty()) return;
  auto ranges = [](const std::vector<UserNamespace::Range>& rs) {
    json out = json::array();
    for (const auto& r : rs) out.push_back({{"containerID", r.containerId}, {"hostID", r.hostId}, {"size", r.size}});
    return out;
  };
  auto& linux = spec["linux"];
  linux["namespaces"].push_back({{"type", "user"}, {"path", userns.path}});
  linux["uidMappings"] = ranges(userns.uids);
  linux["gidMappings"] = ranges(userns.gids);
}

}  // namespace crix::spec
