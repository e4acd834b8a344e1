// Network namespaces for pods, pinned by a bind mount so that they outlive
// any process and survive a crixd restart:
//
//   <state_dir>/netns/<pod-id>   ← bind mount of a new namespace's nsfs file
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "sys/unique_fd.h"

namespace crix::network {

// Creates a network namespace with lo up and pins it at `path` (whose
// directory must exist). With `ownerUserns` (a pinned user namespace) the
// network namespace belongs to it, so that the pod's root, mapped to an
// unprivileged host user, still administers its own network (and may mount
// sysfs). On failure nothing is left at `path`.
Result<> createNetns(const std::string& path, const std::string& ownerUserns = "");

// Unpins and removes `path`; a missing path is fine.
Result<> removeNetns(const std::string& path);

// A TCP connection to localhost:port (IPv4, then IPv6) made inside the
// network namespace pinned at `path`, or in crixd's own when `path` is empty.
// The socket keeps its namespace wherever it is used.
Result<sys::UniqueFd> connectLocalPort(const std::string& path, uint16_t port);

struct InterfaceStats {
  std::string name;
  uint64_t rxBytes = 0, rxPackets = 0, rxErrors = 0, rxDropped = 0;
  uint64_t txBytes = 0, txPackets = 0, txErrors = 0, txDropped = 0;
};

// Counters of every interface but lo in the namespace pinned at `path`.
Result<std::vector<InterfaceStats>> interfaceStats(const std::string& path);

// Mounts the sysfs of the network namespace pinned at `netns` at `at` (a
// new directory), read-write. Every sysfs mount in one network namespace
// shares one superblock, whose read-only flag the first mount decides: a
// read-write one held for the pod lets its privileged containers have a
// writable /sys whichever container mounts first (the others get theirs
// read-only per mount).
Result<> mountSysfs(const std::string& netns, const std::string& at);

// True when `path` is a pinned network namespace.
bool isNetns(const std::string& path);

}  // namespace crix::network
