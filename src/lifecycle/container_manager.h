// ContainerManager: CreateContainer to RemoveContainer, and ExecSync.
//
// CreateContainer: hold the pod (shared: StopPodSandbox and
// RemovePodSandbox wait) → validate → reserve the name → rootfs (overlay
// over the image's layers) → resolve the user in the container's own
// /etc/passwd → spec → bundle → conmon + runtime create → persist. Every
// step pushes its undo; between steps the call checks that some client
// still waits for it (lifecycle/inflight.h: a retry joins the running call).
//
// Each container is an entry of the store (lifecycle/container_store.h) with
// its own locks; the exit monitor signals an entry when conmon writes its
// exit file, and StopContainer waits on that signal.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
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
#include "lifecycle/container_store.h"
#include "lifecycle/events.h"
#include "lifecycle/inflight.h"
#include "lifecycle/infra.h"
#include "lifecycle/pod_manager.h"
#include "network/netns.h"
#include "oci/runtime.h"
#include "spec/container_spec.h"
#include "storage/layer_store.h"
#include "store/state_store.h"
#include "sys/fs.h"

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

using Filesystem = sys::Filesystem;

struct ExecResult {
  std::string out, err;
  int exitCode = 0;
};

class ContainerManager {
 public:
  // `controllers`: what the host's cgroups let the runtime enforce (probed
  // once at start-up); limits beyond it are left out of the specs.
  ContainerManager(const config::Config& cfg, store::StateStore& db, PodManager& pods, image::ImageStore& images,
                   storage::LayerStore& layers, Runtimes& runtimes, const cgroups::Controllers& controllers,
                   HostOps& host);

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
  // `gone` says when the caller's client has gone (deadline, cancel): the
  // call then stops at its next step and rolls back, unless a retry joined.
  Result<std::string> create(const std::string& podId, const ContainerConfig& config, const ClientGone& gone = {});
  Result<> start(const std::string& id);
  // A stop whose client goes away stops waiting, and sends no SIGKILL.
  Result<> stop(const std::string& id, std::chrono::seconds timeout, const ClientGone& gone = {});
  Result<> remove(const std::string& id);
  Result<Container> get(const std::string& id);
  // What is being done to the container now ("starting", "stopping",
  // "removing", "updating"), or "" (verbose ContainerStatus).
  std::string operation(const std::string& id) const;
  std::vector<Container> list(const ContainerFilter& f);
  // Calls `fn` with each container that `f` selects, oldest first, each
  // under its own state lock: for callers that read a few fields of many
  // containers (ListContainers) without copying them. `fn` must not call
  // back into the manager.
  void visit(const ContainerFilter& f, const std::function<void(const Container&)>& fn);
  Result<ExecResult> execSync(const std::string& id, const std::vector<std::string>& cmd, std::chrono::seconds timeout);
  // A command started for a streaming client, and a running container's stdio.
  Result<std::unique_ptr<oci::StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& cmd,
                                                         const oci::ExecStreamOptions& opts);
  Result<std::unique_ptr<oci::StreamProcess>> attach(const std::string& id);
  Result<ContainerStats> stats(const std::string& id);
  // The OCI spec in the container's bundle, as the runtime got it.
  Result<std::string> runtimeSpec(const Container& c) const;
  // The containers' writable layers together, for ImageFsInfo's container
  // figure: each layer's last measure when younger than 10 s, else measured
  // now (the kubelet asks every 10 s; ContainerStats measures too).
  // The filesystem that holds the containers' writable layers.
  Result<Filesystem> writableFilesystem() const;
  struct WritableUsage {
    int64_t bytes = 0, inodes = 0;
  };
  WritableUsage writableLayers();
  // New limits for a created or running container (those the host can enforce).
  Result<> updateResources(const std::string& id, const spec::Resources& r);
  Result<PodStats> podStats(const std::string& podId);
  Result<> reopenLog(const std::string& id);
  // The layers under containers' root filesystems.
  std::set<std::string> layersInUse() const;
  // Image ID → the name of a container that mounts it as a volume.
  std::map<std::string, std::string> volumeImagesInUse() const;
  // Stops (and with remove, removes) every container of a pod.
  Result<> forPod(const std::string& podId, bool remove);

 private:
  Result<std::string> createNow(const std::string& podId, const ContainerConfig& config, const ClientGone& abandoned);
  // Writes the row; `recordState` overrides the state column with an intent.
  Result<> persist(const Container& c, const char* recordState = nullptr);
  // Start-up: undoes a CreateContainer a crash cut short, whichever step it reached.
  Result<> undoCreate(const Container& c);
  // Start-up: brings a loaded container in line with conmon, the runtime
  // and the exit file.
  void reconcile(ContainerEntry& e);
  // What a container leaves on the host once the runtime deleted it (its
  // exit file, rootfs and writable layer, bundle, attach link), for
  // RemoveContainer and the undo of a CreateContainer alike.
  Result<> removeArtifacts(const Container& c);
  // The pid of the container's conmon while it lives (checked against its
  // command line, so a recycled pid is not taken for it), else 0.
  int conmonPid(const Container& c) const;
  // Reads the exit file of a created or running container and records the exit.
  void refresh(ContainerEntry& e);
  // Records an exit the runtime could not show (killed, never started).
  void markExited(ContainerEntry& e, int code, const std::string& reason, const std::string& message);
  void publish(const Container& c, EventType type);
  // A persist step for ContainerEntry::update that sends `type` once written.
  std::function<Result<>(const Container&)> persistThenPublish(EventType type);

  const config::Config& cfg_;
  const Paths paths_;
  EventBus* events_ = nullptr;
  store::StateStore& db_;
  PodManager& pods_;
  image::ImageStore& images_;
  storage::LayerStore& layers_;
  Runtimes& runtimes_;
  const cgroups::Controllers& controllers_;
  HostOps& host_;

  ContainerStore store_;
  InFlight creating_;  // CreateContainer calls running, by container name
  std::atomic<bool> exitsWatched_{false};
};

}  // namespace crix::lifecycle
