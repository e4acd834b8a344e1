// The OCI runtime spec (config.json) of a pod's infra container. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace crix::spec {

// A pod's own user namespace, pinned: the runtime joins it by path and is
// told its mappings too (it sizes the container's ownership by them).
struct UserNamespace {
  struct Range {
    uint32_t containerId = 0, hostId = 0, size = 0;
  };
  std::string path;  // empty: the host's user namespace
  std::vector<Range> uids, gids;
};

// Adds `userns` to linux.namespaces and its uidMappings and gidMappings
// to `spec`; nothing for the host's.
void addUserNamespace(const UserNamespace& userns, nlohmann::json& spec);

struct SandboxSpecInput {
  std::string id;
  std::string rootfs;             // the mounted root filesystem
  std::vector<std::string> args;  // the pause command
  std::vector<std::string> env;
  std::string hostname;
  std::string netnsPath;  // empty: the host's network
  bool hostIpc = false, hostPid = false;
  std::string ipcnsPath, utsnsPath;  // the pod's pinned ones; empty: new ones (unless the host's IPC)
  std::string shmPath;               // the pod's /dev/shm, or empty for the host's
  std::string cgroupsPath;           // as the runtime wants it for the cgroup driver
  int oomScoreAdj = -998;
  std::map<std::string, std::string> sysctls;  // namespaced, already validated
  std::map<std::string, std::string> annotations;
  bool readonlyRootfs = true;
  UserNamespace userns;
};

nlohmann::json buildSandboxSpec(const SandboxSpecInput& in);

// /proc, /dev, /dev/pts, /dev/mqueue and /sys (read-only unless
// privileged): the kernel file systems every container gets; /sys/fs/cgroup
// is added for application containers.
nlohmann::json kernelMounts(bool privileged, bool cgroup);

// The masked and read-only paths every non-privileged container gets.
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();

}  // namespace crix::spec
