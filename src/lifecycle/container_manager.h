// ContainerManager: CreateContainer to RemoveContainer, and ExecSync.
//
// CreateContainer: find the pod and the image → validate → reserve the name
// → rootfs (overlay over the image's layers) → resolve the user in the
// container's own /etc/passwd → spec → bundle → conmon + runtime create →
// persist. Every step pushes its undo.
//
// Exits are read from conmon's exit files when a container is looked at.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cgroups/controllers.h"
#include "cgroups/stats.h"
#include "common/error.h"
#include "config/config.h"
#include "image/image_store.h"
#include "lifecycle/container.h"
#include "lifecycle/events.h"
#include "lifecycle/infra.h"
#include "lifecycle/pod_manager.h"
#include "network/netns.h"
#include "oci/runtime.h"
#include "spec/container_spec.h"
#include "storage/layer_store.h"
#include "store/state_store.h"

namespace crix::lifecycle {

struct ContainerFilter {
  std::string idPrefix, podId;
  std::optional<ContainerState> state;
  std::map<std::string, std::string> labels;
};

struct ContainerStats {
  Container container;
  int64_t timestamp = 0;
  cgroups::Stats cgroup;
  int64_t writableBytes = 0, writableInodes = 0;
};

struct PodStats {
  Sandbox pod;
  int64_t timestamp = 0;
  cgroups::Stats cgroup;  // summed over its running containers
  std::vector<network::InterfaceStats> interfaces;
  std::vector<ContainerStats> containers;
};

struct ExecResult {
  std::string out, err;
  int exitCode = 0;
};

class ContainerManager {
 public:
  // `controllers`: what the host's cgroups let the runtime enforce (probed
  // once at start-up); limits beyond it are left out of the specs.
  ContainerManager(const config::Config& cfg, store::StateStore& db, PodManager& pods, image::ImageStore& images,
                   storage::LayerStore& layers, Runtimes& runtimes, const cgroups::Controllers& controllers);

  // Loads containers from the store, rolls back those a crash caught in
  // CreateContainer and reconciles the rest with what really runs
  // (exit files written while crixd was down, a start whose row was not
  // written, a dead conmon).
  Result<> load();
  // Where container events go. Set once, before serving.
  void setEvents(EventBus* events) { events_ = events; }
  // conmon wrote the exit file of `id` (from the exit monitor); an empty
  // id: some exits may have gone unseen, check them all.
  void onExit(const std::string& id);
  // The exit monitor runs: exits are recorded as they happen, so listing
  // no longer reads every running container's exit file. Checks them all
  // once, for exits between load() and the monitor's start.
  void exitsWatched();
  Result<std::string> create(const std::string& podId, const ContainerConfig& config);
  Result<> start(const std::string& id);
  Result<> stop(const std::string& id, std::chrono::seconds timeout);
  Result<> remove(const std::string& id);
  Result<Container> get(const std::string& id);
  std::vector<Container> list(const ContainerFilter& f);
  // Calls `fn` with each container that `f` selects, oldest first, under
  // the manager's lock: for callers that read a few fields of many
  // containers (ListContainers) without copying them. `fn` must not call
  // back into the manager.
  void visit(const ContainerFilter& f, const std::function<void(const Container&)>& fn);
  Result<ExecResult> execSync(const std::string& id, const std::vector<std::string>& cmd, std::chrono::seconds timeout);
  // A command started for a streaming client, and a running container's stdio.
  Result<std::unique_ptr<oci::StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& cmd,
                                                         const oci::ExecStreamOptions& opts);
  Result<std::unique_ptr<oci::StreamProcess>> attach(const std::string& id);
  Result<ContainerStats> stats(const std::string& id);
  // New limits for a created or running container (those the host can enforce).
  Result<> updateResources(const std::string& id, const spec::Resources& r);
  Result<PodStats> podStats(const std::string& podId);
  Result<> reopenLog(const std::string& id);
  // The layers under containers' root filesystems.
  std::set<std::string> layersInUse() const;
  // Stops (and with remove, removes) every container of a pod.
  Result<> forPod(const std::string& podId, bool remove);

 private:
  Result<std::string> resolveId(const std::string& idOrPrefix) const;
  // Writes the row; `recordState` overrides the state column with an intent.
  Result<> persist(const Container& c, const char* recordState = nullptr);
  // Start-up: undoes a CreateContainer a crash cut short, whichever step it reached.
  Result<> undoCreate(const Container& c);
  // Start-up: brings a loaded container in line with conmon, the runtime
  // and the exit file.
  void reconcile(Container& c);
  // The pid of the container's conmon while it lives (checked against its
  // command line, so a recycled pid is not taken for it), else 0.
  int conmonPid(const Container& c) const;
  // Reads the exit file of a created or running container.
  void refresh(Container& c);
  void refreshAll();  // under mu_

  void publish(const Container& c, EventType type);

  const config::Config& cfg_;
  EventBus* events_ = nullptr;
  store::StateStore& db_;
  PodManager& pods_;
  image::ImageStore& images_;
  storage::LayerStore& layers_;
  Runtimes& runtimes_;
  const cgroups::Controllers& controllers_;

  mutable std::mutex mu_;
  bool exitsWatched_ = false;  // under mu_
  std::map<std::string, Container> containers_;
  std::map<std::string, std::string> names_;
};

}  // namespace crix::lifecycle
