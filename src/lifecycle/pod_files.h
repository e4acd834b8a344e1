// The files a pod's containers share: hostname, hosts, resolv.conf and a
// /dev/shm tmpfs, all under the pod directory. Pure text builders plus the
// one mount.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "lifecycle/sandbox.h"

namespace crix::lifecycle {

inline constexpr int64_t kDefaultShmBytes = 64 << 20;

// Refuses DNS settings that would make a broken resolv.conf.
Result<> validateDns(const PodConfig& c);

// resolv.conf from the pod's DNS config, or the host's when it has none.
std::string resolvConf(const PodConfig& c, const std::string& hostResolvConf);

// /etc/hosts for a pod with its own network.
std::string hostsFile(const std::string& hostname, const std::vector<std::string>& ips);

// Writes hostname, hosts and resolv.conf into podDir and mounts its shm
// unless the pod shares the host's IPC namespace.
Result<> writePodFiles(const Sandbox& s);
Result<> mountShm(const std::string& podDir, int64_t bytes);
Result<> unmountShm(const std::string& podDir);

}  // namespace crix::lifecycle
