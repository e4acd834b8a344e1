// PodManager::checkNetworks: the pods that outlived a crixd restart have
// their networks checked (CNI CHECK) before anyone relies on them.
#include "lifecycle/pod_manager.h"

#include "common/log.h"

namespace crix::lifecycle {

void PodManager::checkNetworks(std::stop_token cancel) {
  int checked = 0, broken = 0;
  for (const auto& pod : list({.state = SandboxState::Ready})) {
    if (cancel.stop_requested()) return;
    if (pod.netnsPath.empty()) continue;  // the host's network: nothing of ours to check
    Result<> result;
    {
      // Not while the kubelet stops or removes the pod: CHECK must not run
      // on an attachment that DEL is taking down.
      auto e = pods_.find(pod.id);
      if (!e) continue;
      std::unique_lock op((*e)->opLock());
      if ((*e)->retired() || (*e)->snapshot().state != SandboxState::Ready) continue;
      result = net_.check(pod.id);
    }
    ++checked;
    if (result) continue;
    ++broken;
    log::warn("pod network check failed, stopping the pod",
              {{"pod", pod.name}, {"id", pod.id}, {"error", result.error().message()}});
    if (auto stopped = stop(pod.id); !stopped)
      log::error("cannot stop pod whose network check failed", {{"id", pod.id}, {"error", stopped.error().message()}});
  }
  log::info("checked pod networks", {{"pods", checked}, {"failed", broken}});
}

}  // namespace crix::lifecycle
