// The managers wired as crixd wires them, over fakes: the fake OCI runtime
// as handler "runc", the fake network, the fake host operations (pins,
// mounts, cgroups and conmons in the temp dir), SQLite on ":memory:", and
// the real content, layer and image stores on a temp dir. Containers come
// from rows put in the store before load() (addContainer), each with a
// live conmon, or from CreateContainer on an image the fixture writes into
// the stores (addImage).
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
#include "fakes/fake_host_ops.h"
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

class ManagerFixture {
 public:
  ManagerFixture();
  ~ManagerFixture();

  // Before load(): a row for a container of `pod` (empty: the fixture's
  // pod, which has the host's network) in `state` (Created or Running),
  // known to the fake runtime and vouched for by a live conmon.
  // Returns its id; createdAt grows with each call.
  std::string addContainer(lifecycle::ContainerState state, const std::string& pod = "");
  // Before load(): a ready pod with a network namespace of its own (its pin
  // a plain file), attached in the fake network. Returns its id.
  std::string addNetworkedPod();
  // An image of no layers with this config JSON, tagged `ref`, in the
  // stores (and loaded by the image store). Returns its id.
  std::string addImage(const std::string& ref, const std::string& configJson);
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
  std::unique_ptr<FakeHostOps> host;
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
  std::mutex exitsMu_;
  std::condition_variable_any exitsCv_;
  std::deque<std::string> exits_;
  std::jthread exitThread_;  // joined first in the destructor: it calls into the manager
};

}  // namespace crix::test
