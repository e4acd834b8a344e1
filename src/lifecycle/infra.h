// The infra (pause) container of a pod that needs one: it holds the PID
// namespace that the pod's containers share.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "config/config.h"
#include "image/image_store.h"
#include "lifecycle/rollback.h"
#include "lifecycle/sandbox.h"
#include "metrics/registry.h"
#include "oci/runtime.h"
#include "storage/layer_store.h"

namespace crix::lifecycle {

// The OCI runtime of each configured handler, each call timed in `metrics`.
class Runtimes {
 public:
  static Result<std::unique_ptr<Runtimes>> create(const config::Config& cfg, metrics::Registry& metrics);
  Result<oci::OciRuntime*> get(const std::string& handler) const;

 private:
  std::map<std::string, std::unique_ptr<oci::OciRuntime>> byHandler_;
  std::map<std::string, std::string> broken_;  // handler → why it cannot run
};

class Infra {
 public:
  Infra(const config::Config& cfg, image::ImageStore& images, storage::LayerStore& layers, Runtimes& runtimes)
      : cfg_(cfg), images_(images), layers_(layers), runtimes_(runtimes) {}

  // Creates and starts the infra container of `s`; pushes its undo.
  Result<> start(Sandbox& s, Rollback& undo);
  // Kills and deletes it and unmounts its rootfs; safe to repeat.
  Result<> stop(const Sandbox& s);
  // Removes its writable layer directory.
  Result<> remove(const Sandbox& s);

 private:
  std::string containersDir() const { return cfg_.root + "/containers"; }
  const config::Config& cfg_;
  image::ImageStore& images_;
  storage::LayerStore& layers_;
  Runtimes& runtimes_;
};

// The cgroups path the runtime gets for container (or infra container) `id`
// of a pod: "<parent>/crix-<id>" with cgroupfs, "<slice>:crix:<id>" with
// systemd; the parent defaults to /crix.
std::string cgroupsPathFor(const config::Config& cfg, const std::string& cgroupParent, const std::string& id);

// The lowest oom_score_adj crixd may give a child: its own (the kernel
// refuses lower values without CAP_SYS_RESOURCE).
int clampOomScoreAdj(int wanted);

}  // namespace crix::lifecycle
