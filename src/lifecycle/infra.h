// The infra (pause) container of a pod that needs one: it holds the PID
// namespace that the pod's containers share, or, under a sandboxing handler
// (gVisor), it creates the sandbox that the pod's containers join.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "config/config.h"
#include "image/image_store.h"
#include "lifecycle/host_ops.h"
#include "lifecycle/rollback.h"
#include "lifecycle/runtimes.h"
#include "lifecycle/sandbox.h"
#include "metrics/registry.h"
#include "oci/runtime.h"
#include "spec/sandbox_spec.h"
#include "storage/layer_store.h"
#include "storage/rootfs.h"

namespace crix::lifecycle {

class Infra {
 public:
  Infra(const config::Config& cfg, image::ImageStore& images, storage::LayerStore& layers, Runtimes& runtimes,
        HostOps& host)
      : cfg_(cfg), paths_(cfg.paths()), images_(images), layers_(layers), runtimes_(runtimes), host_(host) {}

  // Creates and starts the infra container of `s`; pushes its undo.
  Result<> start(Sandbox& s, Rollback& undo);
  // Kills and deletes it and unmounts its rootfs; safe to repeat.
  Result<> stop(const Sandbox& s);
  // Removes its writable layer directory.
  Result<> remove(const Sandbox& s);
  Runtimes& runtimes() { return runtimes_; }

 private:
  const config::Config& cfg_;
  const Paths paths_;
  image::ImageStore& images_;
  storage::LayerStore& layers_;
  Runtimes& runtimes_;
  HostOps& host_;
};

// The cgroups path the runtime gets for container (or infra container) `id`
// of a pod: "<parent>/crix-<id>" with cgroupfs, "<slice>:crix:<id>" with
// systemd; the parent defaults to /crix or system.slice (cgroups/paths.h).
std::string cgroupsPathFor(const config::Config& cfg, const std::string& cgroupParent, const std::string& id);

// A handler's rules over a spec built for it, last thing before it is
// written: gVisor's mount hints, then the base spec under it.
Result<> applyHandlerRules(const config::Config& cfg, const Runtimes& runtimes, const std::string& handler,
                           nlohmann::json& spec);

// The lowest oom_score_adj crixd may give a child: its own (the kernel
// refuses lower values without CAP_SYS_RESOURCE).
int clampOomScoreAdj(int wanted);

// The pod's user namespace as its containers' specs name it (empty path:
// the host's), and how their layers are seen through it (none for the host's).
spec::UserNamespace podUserns(const Sandbox& s);
std::optional<storage::IdMappedLayers> podIdMappedLayers(const Sandbox& s);

}  // namespace crix::lifecycle
