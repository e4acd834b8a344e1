// PodManager: RunPodSandbox to RemovePodSandbox.
//
// RunPodSandbox: validate → reserve the name → pod directory and files →
// network namespace → CNI ADD → shm → persist. Every step pushes its undo,
// so a failure at any step leaves no mount, netns, CNI lease, file, row or
// reserved name behind.
//
// Pods whose containers share no PID namespace need no pause process: their
// network namespace is pinned by a bind mount and no infra container runs.
// A pod that shares one PID namespace (NamespaceMode POD), and every pod of a
// sandboxing handler (gVisor, where the infra container creates the sandbox),
// gets an infra container from the pause image, after the network and
// before persisting. The handler is checked first: an unknown one is
// InvalidArgument naming the known ones, one that cannot run
// FailedPrecondition with the reason.
//
// Each step is timed: the laps are kept on the sandbox (Sandbox::startup,
// shown by verbose PodSandboxStatus) and, for pods that start, observed in
// crix_pod_startup_step_duration_seconds{step}. Step names: validate,
// reserve_name, pod_dir, netns, cni_add, sysctls, pod_files, shm, then the
// infra container's pause_image, rootfs, spec, runtime_create,
// runtime_start, and last persist; a step that does not apply to a pod is
// left out.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "lifecycle/events.h"
#include "lifecycle/inflight.h"
#include "lifecycle/infra.h"
#include "lifecycle/pod_store.h"
#include "lifecycle/sandbox.h"
#include "metrics/registry.h"
#include "network/cni.h"
#include "store/state_store.h"
#include "sys/unique_fd.h"

namespace crix::lifecycle {

struct PodFilter {
  std::string idPrefix;
  std::optional<SandboxState> state;
  std::map<std::string, std::string> labels;  // all must match
};

class PodManager {
 public:
  PodManager(const config::Config& cfg, store::StateStore& db, network::NetworkPlugin& net, Infra& infra, HostOps& host,
             metrics::Registry& metrics);

  // Called with (pod id, remove) before a pod stops or is removed, so that
  // its containers go first. Set once, before serving.
  void setContainerHook(std::function<Result<>(const std::string&, bool)> hook) { containers_ = std::move(hook); }
  // Where pod events go (created and started, stopped, deleted). Set once, before serving.
  void setEvents(EventBus* events) { events_ = events; }

  // Loads pods from the store (after a restart). Pods that a crash caught
  // half-way wait for recover().
  Result<> load();
  // Start-up, after the containers are loaded and the container hook set,
  // before serving: rolls back pods caught in RunPodSandbox (row
  // "creating"), finishes those caught in StopPodSandbox ("stopping") and
  // stops ready pods whose infra container exited while crixd was down.
  Result<> recover();
  // Start-up, after recover(), on a thread of its own while crixd serves
  // (network_check.cc): CNI CHECK of every ready pod with its own network
  // namespace. A pod whose network broke while crixd was down is stopped,
  // so that the kubelet sees it not ready and replaces it.
  void checkNetworks(std::stop_token cancel);

  // `gone` says when the caller's client has gone (deadline, cancel): the
  // call then stops at its next step and rolls back, unless a retry with
  // the same metadata joined it (lifecycle/inflight.h).
  Result<std::string> run(const PodConfig& config, const ClientGone& gone = {});
  Result<> stop(const std::string& id);
  Result<> remove(const std::string& id);
  Result<Sandbox> get(const std::string& id) const;
  // UpdatePodSandboxResources: the kubelet resized the pod's cgroup (its
  // own, the cgroup parent); the pod's record takes the new limits and
  // overhead (each field set replaces the one kept, as for a container).
  // NotFound for an unknown pod; FailedPrecondition for a stopped one.
  Result<> updateResources(const std::string& id, const spec::Resources& resources, const spec::Resources& overhead);
  // CreateContainer's hold on a pod: StopPodSandbox and RemovePodSandbox
  // of it wait until the hold is released, so no container is made in a
  // pod that is going away.
  struct Hold {
    PodPtr entry;
    std::shared_lock<std::shared_mutex> lock;
    Sandbox pod;
  };
  Result<Hold> hold(const std::string& id);
  std::vector<Sandbox> list(const PodFilter& filter) const;
  // A TCP connection to localhost:port inside a ready pod's network
  // namespace (crixd's own with host networking), for port-forward.
  Result<sys::UniqueFd> connectPort(const std::string& id, uint16_t port) const;

 private:
  Result<std::string> runNow(const PodConfig& config, const ClientGone& abandoned);
  Result<> validate(const PodConfig& c, std::string* handler) const;
  // Writes the row; `recordState` overrides the state column with an
  // intent (kRecordCreating, kRecordStopping).
  Result<> persist(const Sandbox& s, const char* recordState = nullptr);
  // Releases the network and shm of a pod; safe to repeat.
  Result<> release(Sandbox& s);

  const config::Config& cfg_;
  const Paths paths_;
  store::StateStore& db_;
  network::NetworkPlugin& net_;
  Infra& infra_;
  HostOps& host_;
  std::function<Result<>(const std::string&, bool)> containers_;
  EventBus* events_ = nullptr;
  void publish(const std::string& id, EventType type);
  metrics::Family<metrics::Histogram>& stepSeconds_;
  metrics::Histogram& startupSeconds_;

  PodStore pods_;
  InFlight running_;                   // RunPodSandbox calls under way, by pod name
  std::vector<Sandbox> creating_;      // found by load(), undone by recover()
  std::vector<std::string> stopping_;  // found by load(), stopped by recover()
};

// The state column of a pod row while an operation is under way; the data
// column keeps the sandbox as it was.
inline constexpr const char* kRecordCreating = "creating";
inline constexpr const char* kRecordStopping = "stopping";

// Sysctls a pod may set: those namespaced by the kernel.
bool isNamespacedSysctl(const std::string& name);

}  // namespace crix::lifecycle
