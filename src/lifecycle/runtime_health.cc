#include "lifecycle/runtime_health.h"

#include "network/cni_config.h"

namespace crix::lifecycle {

std::vector<Condition> RuntimeHealth::conditions() {
  Condition runtime{"RuntimeReady", true, "", ""};
  std::string problems;
  if (auto conmon = probe_.check(cfg_.conmon); !conmon) problems = "conmon: " + conmon.error().message();
  const auto& handler = cfg_.runtimes.at(cfg_.defaultRuntime);
  if (auto oci = probe_.check(handler.path); !oci)
    problems +=
        (problems.empty() ? "" : "; ") + ("runtime handler " + cfg_.defaultRuntime + ": " + oci.error().message());
  if (!problems.empty()) {
    runtime.status = false;
    runtime.reason = "RuntimeBinaryNotReady";
    runtime.message = problems;
  }

  Condition network{"NetworkReady", true, "", ""};
  if (auto found = network::findNetworkConfigs(cfg_.cniConfigDir); !found) {
    network.status = false;
    network.reason = "NetworkPluginNotReady";
    network.message = found.error().message();
  }
  return {runtime, network};
}

}  // namespace crix::lifecycle
