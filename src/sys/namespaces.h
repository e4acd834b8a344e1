// Namespaces that outlive their processes: each is pinned by a bind mount
// of its nsfs file onto a plain file, so that it survives any process and a
// crixd restart. Pod user namespaces are made here too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::sys {

// One line of /proc/PID/uid_map or gid_map.
struct IdMapping {
  uint32_t containerId = 0;
  uint32_t hostId = 0;
  uint32_t length = 0;
  bool operator==(const IdMapping&) const = default;
};

// Pins the namespace file `nsFile` (/proc/PID/ns/net, ...) at `path`, a new
// file whose directory exists. On failure nothing is left at `path`.
Result<> pinNamespace(const std::string& nsFile, const std::string& path);

// Unpins and removes `path`; a missing path is fine.
Result<> unpinNamespace(const std::string& path);

// Forks a child that runs `setup(arg)` and then waits. `setup` runs in a
// copy of a threaded process, so it may only make async-signal-safe calls
// (unshare, setns, ioctl, ...); it returns 0 or an errno. When it succeeds,
// `withChild(pid)` runs here while the child still lives. The child is gone
// when this returns.
Result<> inNamespaceChild(int (*setup)(void*), void* arg, const std::function<Result<>(pid_t)>& withChild);

// Creates a user namespace with these mappings and pins it at `path`.
// The mappings are checked first: INVALID_ARGUMENT if any is empty, they
// overflow, overlap, or there are more than the kernel takes.
Result<> createUserns(const std::string& path, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids);

// Creates the namespaces a pod's containers share besides the network's:
// an IPC namespace pinned at `ipcPath` and a UTS namespace whose hostname is
// `hostname`, pinned at `utsPath` (an empty path: that one is not made).
// With `ownerUserns` (a pinned user namespace) both belong to it. On
// failure nothing is left at either path.
Result<> createIpcUts(const std::string& ipcPath, const std::string& utsPath, const std::string& hostname,
                      const std::string& ownerUserns = "");

// Checks one direction's mappings as createUserns does; `what` names them.
Result<> checkIdMappings(const std::vector<IdMapping>& maps, const std::string& what);

// The host id that `containerId` maps to, if any.
bool hostIdOf(const std::vector<IdMapping>& maps, uint32_t containerId, uint32_t* hostId);

}  // namespace crix::sys
