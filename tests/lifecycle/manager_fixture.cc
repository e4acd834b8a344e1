#include "lifecycle/manager_fixture.h"

#include <stdexcept>

#include "common/ids.h"
#include "common/paths.h"
#include "common/sha256.h"
#include "lifecycle/container.h"
#include "lifecycle/sandbox.h"
#include "sys/fs.h"

namespace crix::test {
namespace {

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

void must(Result<> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message());
}

}  // namespace

ManagerFixture::ManagerFixture() {
  cfg.root = dir / "root";
  cfg.stateDir = dir / "state";
  const Paths paths = cfg.paths();
  for (const auto& d : {paths.containersDir(), paths.bundlesDir(), paths.exitsDir(), paths.podsDir()})
    must(sys::mkdirAll(d, 0700), "mkdir");
  db = must(store::StateStore::open(":memory:"), "open the store");
  content = must(image::ContentStore::open(paths), "open the content store");
  layers = must(storage::LayerStore::open(paths, 0, {}), "open the layer store");
  images = std::make_unique<image::ImageStore>(*db, *content, *layers, registry, image::ImageOptions{}, metrics);
  auto fake = std::make_unique<FakeOciRuntime>();
  runtime = fake.get();
  std::map<std::string, std::unique_ptr<oci::OciRuntime>> byHandler;
  byHandler["runc"] = std::move(fake);
  runtimes = std::make_unique<lifecycle::Runtimes>(std::move(byHandler));
  host = std::make_unique<FakeHostOps>(paths);
  infra = std::make_unique<lifecycle::Infra>(cfg, *images, *layers, *runtimes, *host);
  pods = std::make_unique<lifecycle::PodManager>(cfg, *db, network, *infra, *host, metrics);
  manager =
      std::make_unique<lifecycle::ContainerManager>(cfg, *db, *pods, *images, *layers, *runtimes, controllers, *host);

  podId = putPod(false);
}

ManagerFixture::~ManagerFixture() {
  runtime->setExitListener(nullptr);
  exitThread_.request_stop();
  if (exitThread_.joinable()) exitThread_.join();
}

std::string ManagerFixture::putPod(bool ownNetwork) {
  const Paths paths = cfg.paths();
  lifecycle::Sandbox pod;
  pod.id = newId();
  pod.config.metadata = {"web", "uid-" + pod.id.substr(0, 8), "default", 0};
  pod.name = lifecycle::podName(pod.config.metadata);
  pod.createdAt = nowNs();
  pod.handler = "runc";
  pod.podDir = paths.podDir(pod.id);
  pod.config.network = lifecycle::NamespaceMode::Node;
  if (ownNetwork) {
    // The pin is a plain file here: unpinning it (umount, unlink) needs no mount.
    pod.config.network = lifecycle::NamespaceMode::Pod;
    pod.netnsPath = paths.podNetns(pod.id);
    must(sys::mkdirAll(paths.netnsDir(), 0700), "mkdir netns");
    must(sys::writeFileAtomic(pod.netnsPath, ""), "write the netns pin");
    network::Attachment a;
    a.containerId = pod.id;
    a.netnsPath = pod.netnsPath;
    auto added = must(network.add(a), "attach the pod");
    pod.network = added.network;
    pod.ips = added.ips;
  }
  must(db->write([&](store::Tables& t) {
    return t.putSandbox({pod.id, pod.name, "ready", pod.createdAt, toJson(pod)});
  }),
       "put the pod row");
  return pod.id;
}

std::string ManagerFixture::addNetworkedPod() {
  return putPod(true);
}

std::string ManagerFixture::addContainer(lifecycle::ContainerState state, const std::string& pod) {
  lifecycle::Container c;
  c.id = newId();
  c.podId = pod.empty() ? podId : pod;
  int64_t n = nextCreatedAt_++;
  c.config.name = "app" + std::to_string(n);
  c.config.image = "registry.local/app:1";
  c.name = "k8s_" + c.config.name + "_web_default_" + c.podId.substr(0, 8) + "_0";
  c.state = state;
  c.createdAt = n;
  if (state == lifecycle::ContainerState::Running) c.startedAt = n;
  c.bundle = cfg.paths().containerBundle(c.id);
  c.handler = "runc";
  // No such cgroup: stats and OOM checks find nothing, as for a container of another host.
  c.cgroupsPath = "/crix-unit-test-absent/crix-" + c.id;
  must(sys::mkdirAll(c.bundle, 0700), "mkdir bundle");
  must(db->write([&](store::Tables& t) {
    return t.putContainer({c.id, c.podId, c.name, lifecycle::stateName(c.state), c.createdAt, toJson(c)});
  }),
       "put the container row");
  runtime->addContainer(c.id, state == lifecycle::ContainerState::Running ? "running" : "created");
  host->setConmonLive(c.id, true);
  return c.id;
}

std::string ManagerFixture::addImage(const std::string& ref, const std::string& configJson) {
  image::Image img;
  img.id = sha256(configJson);
  img.repoTags = {ref};
  must(content->put(img.id, configJson), "put the image config");
  must(db->write([&](store::Tables& t) {
    return t.putImage({img.id, 0, image::imageRecordData(img), {}});
  }),
       "put the image row");
  must(images->load(), "load images");
  return img.id;
}

void ManagerFixture::load() {
  must(pods->load(), "load pods");
  must(manager->load(), "load containers");
  images->setLayersInUse([this] { return manager->layersInUse(); });
  images->setVolumeImagesInUse([this] { return manager->volumeImagesInUse(); });
  manager->setEvents(&events);
  manager->exitsWatched();
}

void ManagerFixture::watchExits() {
  runtime->setExitListener([this](const std::string& id) {
    std::lock_guard lock(exitsMu_);
    exits_.push_back(id);
    exitsCv_.notify_one();
  });
  exitThread_ = std::jthread([this](std::stop_token stop) { exitLoop(stop); });
}

void ManagerFixture::exitLoop(std::stop_token stop) {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(exitsMu_);
      if (!exitsCv_.wait(lock, stop, [&] { return !exits_.empty(); })) return;
      id = std::move(exits_.front());
      exits_.pop_front();
    }
    manager->onExit(id);
  }
}

std::map<std::string, store::ContainerRecord> ManagerFixture::rows() {
  std::map<std::string, store::ContainerRecord> out;
  must(db->read([&](store::Tables& t) -> Result<> {
    for (auto& r : TRY(t.listContainers())) out[r.id] = r;
    return {};
  }),
       "list container rows");
  return out;
}

}  // namespace crix::test
