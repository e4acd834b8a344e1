#include "lifecycle/pod_sysctls.h"

#include <unistd.h>

#include <algorithm>

namespace crix::lifecycle {

std::map<std::string, std::string> podNetSysctls(const config::Config& cfg,
                                                 const std::map<std::string, std::string>& podSysctls,
                                                 const std::function<bool(const std::string&)>& kernelHas) {
  std::map<std::string, std::string> out;
  if (cfg.unprivilegedPorts && kernelHas(kUnprivilegedPortSysctl)) out[kUnprivilegedPortSysctl] = "0";
  if (cfg.unprivilegedIcmp && kernelHas(kPingGroupSysctl)) out[kPingGroupSysctl] = "0 2147483647";
  for (const auto& [k, v] : podSysctls)
    if (k.starts_with("net.")) out[k] = v;
  return out;
}

bool kernelHasSysctl(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace crix::lifecycle
