#include "cmd/crixd/daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cgroups/controllers.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/version.h"
#include "image/content_store.h"
#include "image/image_store.h"
#include "image/registry.h"
#include "lifecycle/events.h"
#include "lifecycle/exit_monitor.h"
#include "lifecycle/host_ops.h"
#include "lifecycle/instrumented.h"
#include "lifecycle/pod_manager.h"
#include "lifecycle/recovery.h"
#include "lifecycle/runtime_health.h"
#include "lifecycle/startup.h"
#include "metrics/exposition.h"
#include "metrics/metrics_server.h"
#include "metrics/process_metrics.h"
#include "metrics/registry.h"
#include "network/cni.h"
#include "server/image_service.h"
#include "server/rpc_metrics.h"
#include "server/runtime_service.h"
#include "server/streaming_backend.h"
#include "storage/layer_store.h"
#include "store/state_store.h"
#include "sys/fs.h"
#include "sys/unix_socket.h"

namespace crix::cmd {
namespace {

constexpr int kMaxMessageBytes = 16 << 20;

image::RegistryOptions registryOptions(const config::Config& cfg) {
  image::RegistryOptions opts;
  for (const auto& [host, r] : cfg.registries) opts.hosts[host] = {r.insecure, r.mirrors, r.caDir};
  return opts;
}

// The pause image is pinned as well as what the configuration names.
std::vector<std::string> pinnedImages(const config::Config& cfg) {
  std::vector<std::string> pinned = cfg.pinnedImages;
  pinned.push_back(cfg.pauseImage);
  return pinned;
}

// Pods and containers by state, counted at scrape time from the managers
// rather than kept up to date on every transition.
// One line at start-up: which limits containers can get on this host.
void logControllers(const cgroups::Controllers& c) {
  std::string names, sizes;
  for (const auto& n : c.names) names += (names.empty() ? "" : ",") + n;
  for (const auto& n : c.hugepageSizes) sizes += (sizes.empty() ? "" : ",") + n;
  log::info("cgroup controllers for containers", {{"mode", cgroups::hostModeName(c.mode)},
                                                  {"controllers", names},
                                                  {"hugepage_sizes", sizes},
                                                  {"swap", c.swap ? "yes" : "no"}});
}

void addStateCollector(metrics::Registry& registry, lifecycle::PodManager& pods,
                       lifecycle::ContainerManager& containers) {
  registry.addCollector([&pods, &containers](std::vector<metrics::FamilySnapshot>& out) {
    std::map<std::string, double> podStates = {{"ready", 0}, {"notready", 0}};
    for (const auto& p : pods.list({})) ++podStates[p.state == lifecycle::SandboxState::Ready ? "ready" : "notready"];
    std::map<std::string, double> containerStates = {{"created", 0}, {"running", 0}, {"exited", 0}, {"unknown", 0}};
    for (const auto& c : containers.list({})) ++containerStates[lifecycle::stateName(c.state)];
    auto family = [](const char* name, const char* help, const std::map<std::string, double>& counts) {
      metrics::FamilySnapshot f{name, help, metrics::Type::Gauge, {}};
      for (const auto& [state, n] : counts) f.samples.push_back({name, {{"state", state}}, n});
      return f;
    };
    out.push_back(family("crix_pods", "Pod sandboxes, by state.", podStates));
    out.push_back(family("crix_containers", "Containers, by state.", containerStates));
  });
}

int failStartup(const Error& err) {
  log::error("cannot start", {{"error", err.message()}});
  return 1;
}

}  // namespace

int runDaemon(const config::Config& cfg) {
  auto started = std::chrono::steady_clock::now();
  // One registry for the process, handed to whatever records; it outlives them all.
  metrics::Registry metricRegistry;
  metrics::addProcessCollector(metricRegistry);
  const Paths paths = cfg.paths();
  for (const auto& dir : {paths.root(), paths.containersDir(), paths.stateDir()}) {
    if (auto made = sys::mkdirAll(dir, 0711); !made) return failStartup(made.error());
  }
  if (auto made = sys::mkdirAll(paths.importDir(), 0700); !made) return failStartup(made.error());
  // One daemon per root: a second one would corrupt the database and race
  // on every container.
  auto lock = sys::FileLock::acquire(paths.lockFile());
  if (!lock) return failStartup(lock.error().wrap("root " + cfg.root + " is in use by another crixd"));

  auto store = store::StateStore::open(paths.database());
  if (!store) return failStartup(store.error());

  auto content = image::ContentStore::open(paths);
  if (!content) return failStartup(content.error());
  auto layers = storage::LayerStore::open(paths, cfg.maxLayerSize, {.allowDevices = cfg.allowDeviceNodes});
  if (!layers) return failStartup(layers.error());
  image::RegistryClient registry(registryOptions(cfg));
  image::ImageStore images(**store, **content, **layers, registry,
                           {cfg.searchRegistries, pinnedImages(cfg), static_cast<int>(cfg.maxConcurrentDownloads)},
                           metricRegistry);
  if (auto loaded = images.load(); !loaded) return failStartup(loaded.error().wrap("load images"));

  if (auto claimed = sys::claimSocketPath(cfg.listen); !claimed) return failStartup(claimed.error());

  network::CniNetwork cni(cfg.cniConfigDir, cfg.cniPluginDirs, paths);
  lifecycle::TimedNetwork network(cni, metricRegistry);
  auto runtimes = lifecycle::Runtimes::create(cfg, metricRegistry);
  if (!runtimes) return failStartup(runtimes.error());
  const cgroups::Controllers controllers = cgroups::probeHostControllers();
  logControllers(controllers);
  lifecycle::SystemHostOps hostOps(paths);
  lifecycle::Infra infra(cfg, images, **layers, **runtimes, hostOps);
  lifecycle::PodManager pods(cfg, **store, network, infra, hostOps, metricRegistry);
  lifecycle::ContainerManager containers(cfg, **store, pods, images, **layers, **runtimes, controllers, hostOps);
  images.setLayersInUse([&] { return containers.layersInUse(); });
  images.setVolumeImagesInUse([&] { return containers.volumeImagesInUse(); });
  lifecycle::EventBus events;
  pods.setEvents(&events);
  containers.setEvents(&events);
  pods.setContainerHook([&](const std::string& pod, bool remove) { return containers.forPod(pod, remove); });
  // Recovery, before serving, in the order lifecycle/startup.h draws.
  std::unique_ptr<lifecycle::ExitMonitor> exitMonitor;
  auto recovered = lifecycle::recoverAtStartup({
      .killStrayHelpers = [&] { return lifecycle::killStrayHelpers(cfg); },
      .loadPods = [&] { return pods.load(); },
      .loadContainers = [&] { return containers.load(); },
      .watchExits = [&]() -> Result<> {
        exitMonitor =
            TRY(lifecycle::ExitMonitor::start(paths.exitsDir(), [&](const std::string& id) { containers.onExit(id); }));
        containers.exitsWatched();
        return {};
      },
      .recoverPods = [&] { return pods.recover(); },
      .knownObjects =
          [&] {
            lifecycle::KnownObjects known;
            for (const auto& p : pods.list({})) {
              known.pods.insert(p.id);
              if (p.state == lifecycle::SandboxState::Ready && !p.netnsPath.empty()) known.networked.insert(p.id);
            }
            for (const auto& c : containers.list({})) known.containers.insert(c.id);
            return known;
          },
      .sweepOrphans =
          [&](const lifecycle::KnownObjects& known) {
            return lifecycle::sweepOrphans(cfg, network, **runtimes, known);
          },
  });
  if (!recovered) return failStartup(recovered.error());
  log::info("recovered", {{"pods", recovered->pods},
                          {"containers", recovered->containers},
                          {"stray_helpers", recovered->strayHelpers},
                          {"orphans", recovered->orphans},
                          {"recovery_us", recovered->took.count()}});
  addStateCollector(metricRegistry, pods, containers);
  // Pods that outlived the previous crixd get their networks checked
  // (CNI CHECK) beside serving, not before it; the thread stops and joins
  // before the managers go.
  std::jthread networkCheck([&pods](std::stop_token cancel) { pods.checkNetworks(cancel); });

  server::StreamingBackend streamingBackend(containers, pods);
  auto streamingServer = streaming::Server::start({.address = cfg.streamingAddress,
                                                   .idleTimeout = cfg.streamingIdleTimeout,
                                                   .maxSessions = static_cast<int>(cfg.streamingMaxSessions)},
                                                  streamingBackend);
  if (!streamingServer) return failStartup(streamingServer.error());

  lifecycle::RuntimeHealth health(cfg, network, controllers, **runtimes);
  server::RuntimeService runtimeService(cfg, health, pods, containers, **streamingServer);
  runtimeService.setEvents(&events);
  server::ImageService imageService(images, containers, paths);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + cfg.listen, grpc::InsecureServerCredentials());
  builder.RegisterService(&runtimeService);
  builder.RegisterService(&imageService);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<server::RpcMetricsFactory>(metricRegistry));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // One completion queue and few idle pollers keep the idle footprint small;
  // gRPC adds worker threads as calls arrive.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return failStartup(Error(Code::Unavailable, "cannot listen on " + cfg.listen));
  if (::chmod(cfg.listen.c_str(), 0660) != 0) {
    server->Shutdown();
    return failStartup(Error::fromErrno("chmod " + cfg.listen, errno));
  }
  // Metrics last: a scrape may reach every manager.
  std::unique_ptr<metrics::MetricsServer> metricsServer;
  if (!cfg.metricsAddress.empty()) {
    auto serving = metrics::MetricsServer::start(
        cfg.metricsAddress, [&metricRegistry] { return metrics::renderText(metricRegistry.collect()); });
    if (!serving) {
      server->Shutdown();
      return failStartup(serving.error());
    }
    metricsServer = std::move(*serving);
    log::info("serving metrics", {{"address", metricsServer->address()}});
  }
  auto ready = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  log::info("serving CRI", {{"socket", cfg.listen},
                            {"version", kVersion},
                            {"commit", kGitCommit},
                            {"root", cfg.root},
                            {"streaming", (*streamingServer)->baseUrl()},
                            {"schema", (*store)->schemaVersion()},
                            {"startup_us", ready.count()}});

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  log::info("shutting down", {{"signal", strsignal(sig)}, {"timeout", config::formatDuration(cfg.shutdownTimeout)}});

  // Shutdown stops accepting at once and waits for running calls until the
  // deadline, then cancels what is left.
  server->Shutdown(std::chrono::system_clock::now() + cfg.shutdownTimeout);
  server->Wait();
  networkCheck.request_stop();
  networkCheck.join();
  metricsServer.reset();
  ::unlink(cfg.listen.c_str());
  if (auto closed = (*store)->close(); !closed) {
    log::error("close database", {{"error", closed.error().message()}});
    return 1;
  }
  log::info("stopped");
  return 0;
}

}  // namespace crix::cmd
