// The runtime's readiness, as the CRI Status call reports it: computed from
// real checks on every call, never from flags set at start-up (the network
// plugin may answer from a cache of a second or two, see network/cni.h).
#pragma once

#include <future>
#include <string>
#include <vector>

#include "cgroups/controllers.h"
#include "config/config.h"
#include "lifecycle/runtimes.h"
#include "network/cni.h"
#include "sys/executable_probe.h"

namespace crix::lifecycle {

struct Condition {
  std::string type;  // "RuntimeReady", "NetworkReady" or "CheckpointRestoreReady"
  bool status = false;
  std::string reason;
  std::string message;
};

// One runtime handler as Status shows it. A handler that cannot run is
// listed with the reason, never left out.
struct HandlerStatus {
  std::string name;
  std::string type;     // "oci" or "gvisor"
  std::string runtime;  // the binary, resolved when found
  std::string monitor;  // conmon, resolved when found
  bool ready = false;
  std::string reason;  // why not ready
  // The CRI features: recursive read-only mounts where the kernel and the
  // runtime can make them (Runtimes::recursiveReadOnly); pods with their
  // own user namespace run on OCI handlers, not under gVisor.
  bool recursiveReadOnlyMounts = false, userNamespaces = false;
};

class RuntimeHealth {
 public:
  // Starts `criu check` (`criu` looked up in PATH) in the background.
  RuntimeHealth(const config::Config& cfg, network::NetworkPlugin& net, const cgroups::Controllers& controllers,
                const Runtimes& runtimes, std::string criu = "criu");

  // RuntimeReady: the default handler can run (its monitor and runtime
  // exist and run, the host's cgroups suit it).
  // NetworkReady: the network plugin is ready (NetworkPlugin::status: a
  // usable CNI configuration, its plugins present and, CNI 1.1, answering
  // STATUS); else reason NetworkPluginNotReady and the plugin's error.
  // CheckpointRestoreReady: false, reason CriuUnavailable, with why (CRIU
  // is missing or `criu check` fails); crix has no checkpoint code yet, so
  // it is false even where CRIU works, saying so.
  std::vector<Condition> conditions();
  // Why CheckpointContainer, CheckpointPod and RestorePod cannot run here
  // (waits for the start-up check).
  std::string checkpointUnavailable() const;
  // Every configured handler, the default first.
  std::vector<HandlerStatus> handlers();
  // The cgroup controllers containers' limits can use (probed at start-up).
  const cgroups::Controllers& controllers() const { return controllers_; }

 private:
  HandlerStatus check(const std::string& name, const config::RuntimeHandler& h);
  const config::Config& cfg_;
  network::NetworkPlugin& net_;
  const cgroups::Controllers& controllers_;
  const Runtimes& runtimes_;
  sys::ExecutableProbe probe_;
  std::shared_future<std::string> criu_;  // why CRIU cannot be used, once checked
};

}  // namespace crix::lifecycle
