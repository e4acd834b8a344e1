// The OCI runtime spec of a pod's container, from the CRI container config
// and the image config. Pure: no I/O; the caller resolves users and paths.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/sandbox_spec.h"

namespace crix::spec {

struct Mount {
  std::string containerPath, hostPath;
  bool readonly = false;
  std::string propagation = "rprivate";  // rprivate, rslave, rshared
  // Read-only all the way down: submounts of the source too (runc's "rro",
  // mount_setattr with AT_RECURSIVE); needs readonly and rprivate.
  bool recursiveReadOnly = false;
  std::vector<std::string> options;  // more flags (nosuid, nodev, noexec...), from CDI specs
  // An image volume (the CRI's Mount.image, KEP-4639), in a ContainerConfig
  // only: the image's files, or those at imageSubPath in it, read-only. The
  // spec gets the mounted image as hostPath.
  std::string image, imageSubPath;
  bool operator==(const Mount&) const = default;
};

// A host device node made in the container and allowed in its device
// cgroup; the caller has looked up its type and numbers.
struct DeviceNode {
  std::string path;  // in the container
  char type = 'c';   // 'c' or 'b'
  int64_t major = 0, minor = 0;
  uint32_t fileMode = 0666;
  std::string access = "rwm";  // any of r, w, m
  uint32_t uid = 0, gid = 0;   // the node's owner in the container
  bool operator==(const DeviceNode&) const = default;
};

// An OCI hook (CDI specs bring them): run by the runtime at `stage`
// (createRuntime, createContainer, startContainer, poststart, poststop).
struct Hook {
  std::string stage;
  std::string path;
  std::vector<std::string> args, env;
  int timeout = 0;  // seconds; 0: none
  bool operator==(const Hook&) const = default;
};

// A container's cgroup limits, one type from the CRI request through the
// spec, UpdateContainerResources and the store (0 or empty: unset).
struct Resources {
  int64_t cpuShares = 0, cpuQuota = 0, cpuPeriod = 0, memoryLimit = 0, pidsLimit = 0;
  std::string cpusetCpus, cpusetMems;
  int64_t memorySwap = 0;                          // memory plus swap; 0: unset
  std::map<std::string, uint64_t> hugepageLimits;  // page size ("2MB") → bytes
  std::map<std::string, std::string> unified;      // cgroup v2 files → values
  bool operator==(const Resources&) const = default;
};

struct ContainerSpecInput {
  std::string rootfs;
  // Process: the kubelet's rules for command/args against the image's
  // Entrypoint/Cmd are applied by processArgs().
  std::vector<std::string> args;
  std::vector<std::string> env;  // image env, then config env (later wins)
  std::string cwd = "/";
  bool terminal = false;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additionalGids;
  std::string hostname;
  // Namespaces to join (paths) or create (empty); host ones are left out.
  std::string netnsPath, pidnsPath, ipcnsPath, utsnsPath;  // empty: a new one (unless the host's)
  bool hostNetwork = false, hostPid = false, hostIpc = false;
  UserNamespace userns;       // the pod's
  std::vector<Mount> mounts;  // pod files, shm and the CRI mounts
  std::string cgroupsPath;
  bool privileged = false, readonlyRootfs = false, noNewPrivileges = false;
  // A privileged container of a handler with privileged_without_host_devices:
  // the device cgroup stays closed.
  bool withoutHostDevices = false;
  std::vector<std::string> capabilities;  // effective set, "CAP_..." names
  int oomScoreAdj = 0;
  std::map<std::string, std::string> sysctls, annotations;
  Resources resources;                                  // only what the host can enforce
  std::vector<std::string> maskedPaths, readonlyPaths;  // empty: the defaults
  std::optional<nlohmann::json> seccomp;                // linux.seccomp, when confined
  std::vector<DeviceNode> devices;
  std::vector<Hook> hooks;
};

nlohmann::json buildContainerSpec(const ContainerSpecInput& in);

// linux.resources' cpu, memory and pids objects, as the spec holds them and
// as `runc update --resources` takes them.
nlohmann::json resourcesJson(const Resources& r);

// The store rows' form of the limits, and back (a missing key: unset).
nlohmann::json resourcesToRecord(const Resources& r);
Resources resourcesFromRecord(const nlohmann::json& j);

// An update's limits over those in effect, as UpdateContainerResources
// takes them: each field `update` sets replaces the one in `now`, the rest
// stay (huge page sizes and unified keys one by one), as the runtime's
// update leaves an unset limit as it was.
Resources mergeResources(Resources now, const Resources& update);

// command/args against Entrypoint/Cmd, as the kubelet documents: a command
// replaces both; args alone replace Cmd.
std::vector<std::string> processArgs(const std::vector<std::string>& command, const std::vector<std::string>& args,
                                     const std::vector<std::string>& entrypoint, const std::vector<std::string>& cmd);

// Env lists merged by name: `over` wins.
std::vector<std::string> mergeEnv(const std::vector<std::string>& base, const std::vector<std::string>& over);

// The capabilities a default container gets.
const std::vector<std::string>& defaultCapabilities();

// Applies CRI add/drop (names without "CAP_", "ALL" allowed) to `base`.
std::vector<std::string> adjustCapabilities(std::vector<std::string> base, const std::vector<std::string>& add,
                                            const std::vector<std::string>& drop, const std::vector<std::string>& all);

}  // namespace crix::spec
