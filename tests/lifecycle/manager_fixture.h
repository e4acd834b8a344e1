// A ContainerManager wired as crixd wires it, over fakes: the fake OCI
// runtime as handler "runc", the fake network, SQLite on ":memory:", and
// the real content, layer and image stores on a temp dir. Containers come
// from rows put in the store before load(), so no CreateContainer (which
// mounts an overlay) runs.
//
// load() reconciles a created or running row with its conmon, found by
// command line in /proc (no seam): without one, a created container is
// taken for dead. So each container gets a stand-in conmon, a shell whose
// argv is `conmon -ec 'read line' -c <id>` that waits on a pipe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "fakes/fake_network.h"
#include "fakes/fake_oci_runtime.h"
#include "image/content_store.h"
#include "image/image_store.h"
#include "image/registry.h"
#include "lifecycle/container_manager.h"
#include "lifecycle/events.h"
#include "lifecycle/infra.h"
#include "lifecycle/pod_manager.h"
#include "lifecycle/runtimes.h"
#include "metrics/registry.h"
#include "storage/layer_store.h"
#include "store/state_store.h"
#include "temp_dir.h"

namespace crix::test {

// A process whose command line is a container's conmon's; killed and reaped on destruction.
class StandInConmon {
 public:
  StandInConmon(const std::string& containerId, const std::string& pidFile);
  ~StandInConmon();
  StandInConmon(const StandInConmon&) = delete;
  StandInConmon& operator=(const StandInConmon&) = delete;
  int pid() const { return pid_; }

 private:
  void reap();
  int pid_ = 0;
  int stdin_ = -1;  // its stdin's write end: it lives while this is open
};

class ManagerFixture {
 public:
  ManagerFixture();
  ~ManagerFixture();

  // Before load(): a row for a container of `pod` (empty: the fixture's
  // pod, which has the host's network) in `state` (Created or Running),
  // known to the fake runtime and vouched for by a stand-in conmon.
  // Returns its id; createdAt grows with each call.
  std::string addContainer(lifecycle::ContainerState state, const std::string& pod = "");
  // Before load(): a ready pod with a network namespace of its own (its pin
  // a plain file), attached in the fake network. Returns its id.
  std::string addNetworkedPod();
  // Loads the pod and the containers, then says exits are watched, as crixd does.
  void load();
  // The fake runtime's exits reach manager.onExit from a thread of their
  // own, as the exit monitor's inotify events do.
  void watchExits();
  // The store's container rows, by id.
  std::map<std::string, store::ContainerRecord> rows();

  TempDir dir;
  config::Config cfg;
  metrics::Registry metrics;
  std::unique_ptr<store::StateStore> db;
  std::unique_ptr<image::ContentStore> content;
  std::unique_ptr<storage::LayerStore> layers;
  image::RegistryClient registry{{}};
  std::unique_ptr<image::ImageStore> images;
  FakeOciRuntime* runtime = nullptr;  // owned by runtimes
  std::unique_ptr<lifecycle::Runtimes> runtimes;
  FakeNetwork network;
  cgroups::Controllers controllers;
  std::unique_ptr<lifecycle::Infra> infra;
  std::unique_ptr<lifecycle::PodManager> pods;
  std::unique_ptr<lifecycle::ContainerManager> manager;
  lifecycle::EventBus events;
  std::string podId;  // the fixture's own pod: the host's network

 private:
  std::string putPod(bool ownNetwork);
  void exitLoop(std::stop_token stop);

  int64_t nextCreatedAt_ = 1;
  std::vector<std::unique_ptr<StandInConmon>> conmons_;
  std::mutex exitsMu_;
  std::condition_variable_any exitsCv_;
  std::deque<std::string> exits_;
  std::jthread exitThread_;  // joined first in the destructor: it calls into the manager
};

}  // namespace crix::test
