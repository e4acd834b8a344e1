// The net.* sysctls written into a pod's own network namespace: crix's
// defaults first ([runtime] enable_unprivileged_ports and
// enable_unprivileged_icmp, as containerd 2 sets them), then the pod's own,
// which win. Pods on the host's network get none of this.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "config/config.h"

namespace crix::lifecycle {

inline constexpr const char* kUnprivilegedPortSysctl = "net.ipv4.ip_unprivileged_port_start";
inline constexpr const char* kPingGroupSysctl = "net.ipv4.ping_group_range";

// `kernelHas` says whether this kernel knows a sysctl: a default it lacks
// is left out rather than failing every pod.
std::map<std::string, std::string> podNetSysctls(const config::Config& cfg,
                                                 const std::map<std::string, std::string>& podSysctls,
                                                 const std::function<bool(const std::string&)>& kernelHas);

// Whether /proc/sys has the sysctl (in crixd's own network namespace,
// which has the same set as any other).
bool kernelHasSysctl(const std::string& name);

}  // namespace crix::lifecycle
