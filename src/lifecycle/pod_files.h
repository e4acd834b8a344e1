// The files a pod's containers share: hostname, hosts, resolv.conf and a
// /dev/shm tmpfs, all under the pod directory. Pure text builders plus the
// one mount.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/paths.h"
#include "lifecycle/sandbox.h"

namespace crix::lifecycle {

inline constexpr int64_t kDefaultShmBytes = 64 << 20;

// Refuses DNS settings that would make a broken resolv.conf.
Result<> validateDns(const PodConfig& c);

// resolv.conf from the pod's DNS config, or the host's when it has none.
std::string resolvConf(const PodConfig& c, const std::string& hostResolvConf);

// /etc/hosts for a pod with its own network.
std::string hostsFile(const std::string& hostname, const std::vector<std::string>& ips);

// Writes the pod's hostname, hosts and resolv.conf (Paths::podHostname...).
Result<> writePodFiles(const Paths& paths, const Sandbox& s);
// The pod's /dev/shm tmpfs at `at` (Paths::podShm), unless the pod shares
// the host's IPC namespace.
Result<> mountShm(const std::string& at, int64_t bytes);
Result<> unmountShm(const std::string& at);

}  // namespace crix::lifecycle
