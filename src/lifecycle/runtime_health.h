// The runtime's readiness, as the CRI Status call reports it: computed from
// real checks on every call, never from flags set at start-up.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "sys/executable_probe.h"

namespace crix::lifecycle {

struct Condition {
  std::string type;  // "RuntimeReady" or "NetworkReady"
  bool status = false;
  std::string reason;
  std::string message;
};

class RuntimeHealth {
 public:
  explicit RuntimeHealth(const config::Config& cfg) : cfg_(cfg) {}

  // RuntimeReady: conmon and the default handler's runtime exist and run.
  // NetworkReady: a usable CNI network configuration is present.
  std::vector<Condition> conditions();

 private:
  const config::Config& cfg_;
  sys::ExecutableProbe probe_;
};

}  // namespace crix::lifecycle
