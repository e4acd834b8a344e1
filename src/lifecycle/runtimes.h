// The runtime handlers: one OCI runtime (through its own conmon) per
// [runtimes.<name>] table, each with its rules for the specs it runs.
//
//   handler ──► monitor (conmon) ──► runtime binary --root=<root> <runtime_args...> <command>
//
// A handler that cannot run (binary or monitor missing, a base spec that
// does not parse, crun on hybrid cgroups) stays known: pods that ask for it
// get FailedPrecondition with the reason, and Status reports it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/host_layout.h"
#include "common/error.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "oci/runtime.h"

namespace crix::lifecycle {

// Why the runtime at `runtimePath` cannot run containers on a host with
// this cgroup layout, or nothing. crun refuses a hybrid layout whose v2
// hierarchy holds controllers (this node's holds hugetlb).
std::optional<std::string> cgroupRefusal(const std::string& runtimePath, const cgroups::HostLayout& layout);

// Whether pods of this handler run in a sandbox of their own (gVisor): the
// infra container always runs, and creates it.
inline bool isSandboxed(const config::RuntimeHandler& h) {
  return h.type == "gvisor";
}

class Runtimes {
 public:
  static Result<std::unique_ptr<Runtimes>> create(const config::Config& cfg, metrics::Registry& metrics);
  // These runtimes by handler name, none broken and without base specs:
  // the seam through which unit tests hand in fakes. create() reads the config.
  explicit Runtimes(std::map<std::string, std::unique_ptr<oci::OciRuntime>> byHandler = {})
      : byHandler_(std::move(byHandler)) {}
  // The handler's runtime; InvalidArgument for an unknown handler,
  // FailedPrecondition (with the reason) for one that cannot run.
  Result<oci::OciRuntime*> get(const std::string& handler) const;
  // The handler's base spec, when it has one.
  const nlohmann::json* baseSpec(const std::string& handler) const;
  // Whether the handler makes recursive read-only mounts: the kernel has
  // mount_setattr and the runtime lists "rro" among the mount options of
  // its `features` answer (asked once per handler, when first needed). OK,
  // or FailedPrecondition saying which of the two lacks it.
  Result<> recursiveReadOnly(const std::string& handler) const;

 private:
  std::map<std::string, std::unique_ptr<oci::OciRuntime>> byHandler_;
  std::map<std::string, std::string> ociBinaries_;  // OCI (not sandboxed) handlers' runtime binaries
  mutable std::mutex featuresMu_;
  mutable std::map<std::string, std::string> rroRefusal_;  // handler → why not, "" when it can
  std::map<std::string, std::string> broken_;              // handler → why it cannot run
  std::map<std::string, nlohmann::json> baseSpecs_;
};

}  // namespace crix::lifecycle
