#include "lifecycle/pod_manager.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cgroups/paths.h"
#include "common/fault.h"
#include "common/ids.h"
#include "common/log.h"
#include "lifecycle/pod_files.h"
#include "lifecycle/pod_sysctls.h"
#include "lifecycle/rollback.h"
#include "network/netns.h"
#include "security/lsm.h"
#include "sys/fs.h"
#include "sys/namespaces.h"
#include "sys/unique_fd.h"

namespace crix::lifecycle {
namespace {

namespace fs = std::filesystem;

}  // namespace

// A user namespace of the pod's own: mappings the kernel takes, the
// container's root mapped, and every other namespace the pod's (the host's
// would not be the user namespace's to administer).
Result<> validateUserns(const PodConfig& c) {
  if (c.userns == NamespaceMode::Node) {
    if (!c.uidMappings.empty() || !c.gidMappings.empty())
      return fail(Code::InvalidArgument, "user namespace mappings given for a pod in the host's user namespace");
    return {};
  }
  if (c.userns != NamespaceMode::Pod)
    return fail(Code::InvalidArgument, "user namespace mode " + std::to_string(static_cast<int>(c.userns)) +
                                           " is not supported: a pod has its own (POD) or the host's (NODE)");
  TRY(sys::checkIdMappings(c.uidMappings, "uid mappings"));
  TRY(sys::checkIdMappings(c.gidMappings, "gid mappings"));
  uint32_t id = 0;
  if (!sys::hostIdOf(c.uidMappings, 0, &id) || !sys::hostIdOf(c.gidMappings, 0, &id))
    return fail(Code::InvalidArgument, "user namespace mappings must map the container's root (uid and gid 0)");
  if (c.network == NamespaceMode::Node || c.pid == NamespaceMode::Node || c.ipc == NamespaceMode::Node)
    return fail(Code::InvalidArgument,
                "a pod with its own user namespace cannot use the host's network, PID or IPC namespace");
  return {};
}

bool isNamespacedSysctl(const std::string& n) {
  static const std::set<std::string> ipc = {"kernel.shm_rmid_forced", "kernel.shmmax", "kernel.shmall", "kernel.shmmni",
                                            "kernel.msgmax",          "kernel.msgmnb", "kernel.msgmni", "kernel.sem"};
  return ipc.count(n) || n.starts_with("fs.mqueue.") || n.starts_with("net.");
}

PodManager::PodManager(const config::Config& cfg, store::StateStore& db, network::NetworkPlugin& net, Infra& infra,
                       HostOps& host, metrics::Registry& metrics)
    : cfg_(cfg),
      paths_(cfg.paths()),
      db_(db),
      net_(net),
      infra_(infra),
      host_(host),
      stepSeconds_(metrics.histograms("crix_pod_startup_step_duration_seconds",
                                      "Time RunPodSandbox spent in each step, for pods that started.", {"step"},
                                      metrics::kLatencyBuckets)),
      startupSeconds_(metrics.histogram("crix_pod_startup_duration_seconds",
                                        "Time RunPodSandbox took, for pods that started.", metrics::kLatencyBuckets)) {}

Result<> PodManager::load() {
  std::vector<store::SandboxRecord> records;
  TRY(db_.read([&](store::Tables& t) -> Result<> {
    records = TRY(t.listSandboxes());
    return {};
  }));
  for (const auto& r : records) {
    auto s = sandboxFromJson(r.data);
    if (!s) {
      log::error("cannot read pod record", {{"pod", r.id}, {"error", s.error().message()}});
      continue;
    }
    // A crash cut RunPodSandbox short: recover() undoes it; the kubelet
    // saw the call fail and will ask again.
    if (r.state == kRecordCreating) {
      creating_.push_back(*s);
      continue;
    }
    struct stat st {};
    if (r.state == kRecordStopping) {
      stopping_.push_back(s->id);
    } else if (s->infra && s->state == SandboxState::Ready && ::stat(paths_.exitFile(s->id).c_str(), &st) == 0) {
      // conmon recorded the pause process's exit while crixd was down: the
      // pod's namespaces went with it, so recover() stops the pod and the
      // kubelet, seeing it not ready, makes a new one.
      log::warn("infra container exited while crixd was down", {{"pod", s->name}, {"id", s->id}});
      stopping_.push_back(s->id);
    }
    pods_.add(std::make_shared<PodEntry>(*s));
  }
  return {};
}

Result<> PodManager::recover() {
  for (const auto& s : creating_) {
    // Everything a RunPodSandbox could have made, whichever step it reached;
    // each undo is fine when its object was never made.
    Sandbox made = s;
    made.infra = s.config.pid == NamespaceMode::Pod;
    std::string errors;
    if (auto r = release(made); !r) errors = r.error().message();
    if (auto r = infra_.remove(made); !r) errors += (errors.empty() ? "" : "; ") + r.error().message();
    std::error_code ec;
    fs::remove_all(s.podDir, ec);
    if (!errors.empty()) {
      // The row stays, so the next start-up tries again.
      log::error("cannot roll back half-created pod", {{"pod", s.name}, {"id", s.id}, {"error", errors}});
      continue;
    }
    TRY(db_.write([&](store::Tables& t) -> Result<> { return t.deleteSandbox(s.id).map([](bool) {}); }));
    log::info("rolled back half-created pod", {{"pod", s.name}, {"id", s.id}});
  }
  creating_.clear();
  for (const auto& id : stopping_) {
    // The kubelet asked for it: finish the stop.
    if (auto r = stop(id); !r)
      log::error("cannot finish stopping pod", {{"id", id}, {"error", r.error().message()}});
    else
      log::info("finished stopping pod", {{"id", id}});
  }
  stopping_.clear();
  return {};
}

Result<> PodManager::validate(const PodConfig& c, std::string* handler) const {
  const auto& m = c.metadata;
  if (m.name.empty() || m.uid.empty() || m.ns.empty())
    return fail(Code::InvalidArgument, "pod metadata needs a name, a namespace and a uid");
  if (!c.logDirectory.empty() && c.logDirectory[0] != '/')
    return fail(Code::InvalidArgument, "log_directory \"" + c.logDirectory + "\" is not an absolute path");
  TRY(validateDns(c));
  TRY(security::checkLsm({c.apparmorProfile, c.selinuxLabel}, security::hostLsm(), "pod " + podName(m)));
  for (const auto& [k, v] : c.sysctls) {
    if (!isNamespacedSysctl(k))
      return fail(Code::InvalidArgument, "sysctl " + k + " is not namespaced and cannot be set for a pod");
    if (k.starts_with("net.") && c.network == NamespaceMode::Node)
      return fail(Code::InvalidArgument, "sysctl " + k + " needs the pod's own network namespace, not the host's");
    if (!k.starts_with("net.") && c.ipc == NamespaceMode::Node)
      return fail(Code::InvalidArgument, "sysctl " + k + " needs the pod's own IPC namespace, not the host's");
  }
  TRY(validateUserns(c));
  // The host's network comes with the host's UTS namespace (the kubelet
  // sends no hostname for such pods); a name of its own would be lost.
  if (c.network == NamespaceMode::Node && !c.hostname.empty())
    return fail(Code::InvalidArgument,
                "hostname \"" + c.hostname + "\" cannot be set for a pod on the host's network, which has the host's");
  if (!c.cgroupParent.empty()) TRY(cgroups::checkParent(cgroups::driverNamed(cfg_.cgroupDriver), c.cgroupParent));
  *handler = c.runtimeHandler.empty() ? cfg_.defaultRuntime : c.runtimeHandler;
  if (!cfg_.runtimes.count(*handler)) {
    std::string known;
    for (const auto& [name, h] : cfg_.runtimes) known += (known.empty() ? "" : ", ") + name;
    return fail(Code::InvalidArgument, "unknown runtime handler \"" + *handler + "\" (known: " + known + ")");
  }
  if (c.userns == NamespaceMode::Pod && isSandboxed(cfg_.runtimes.at(*handler)))
    return fail(Code::InvalidArgument, "runtime handler \"" + *handler + "\" does not support user namespaces");
  // A handler that cannot run says why now, not at the first container.
  TRY(infra_.runtimes().get(*handler));
  return {};
}

Result<> PodManager::persist(const Sandbox& s, const char* recordState) {
  if (!recordState) recordState = s.state == SandboxState::Ready ? "ready" : "notready";
  return db_.write([&](store::Tables& t) -> Result<> {
    return t.putSandbox({s.id, s.name, recordState, s.createdAt, toJson(s)});
  });
}

Result<std::string> PodManager::run(const PodConfig& config, const ClientGone& gone) {
  return runOrJoin(running_, podName(config.metadata), gone,
                   [&](const ClientGone& abandoned) { return runNow(config, abandoned); });
}

Result<std::string> PodManager::runNow(const PodConfig& config, const ClientGone& abandoned) {
  Sandbox s;
  s.startup.begin();
  s.config = config;
  TRY(validate(config, &s.handler));
  s.startup.lap("validate");
  s.id = newId();
  s.name = podName(config.metadata);
  s.createdAt = nowNs();
  Rollback undo;

  TRY(pods_.reserve(s.name, s.id));
  undo.push([this, name = s.name, id = s.id] { pods_.unreserve(name, id); });
  s.startup.lap("reserve_name");

  // Intent before effect: the row names what the next steps make (pod
  // directory, netns pin, CNI attachment, infra container, all keyed by the
  // id), so that a crash leaves a record for start-up to undo.
  s.podDir = paths_.podDir(s.id);
  if (config.network != NamespaceMode::Node) s.netnsPath = paths_.podNetns(s.id);
  if (config.userns == NamespaceMode::Pod) s.usernsPath = paths_.podUserns(s.id);
  // The IPC and UTS namespaces the pod's containers share, with or without
  // an infra container; a sandboxing handler's sandbox holds its own.
  if (!isSandboxed(cfg_.runtimes.at(s.handler))) {
    if (config.ipc != NamespaceMode::Node) s.ipcnsPath = paths_.podIpcns(s.id);
    if (config.network != NamespaceMode::Node) s.utsnsPath = paths_.podUtsns(s.id);
  }
  TRY(persist(s, kRecordCreating));
  undo.push([this, id = s.id] {
    auto r = db_.write([&](store::Tables& t) -> Result<> { return t.deleteSandbox(id).map([](bool) {}); });
    if (!r) log::warn("rollback: cannot delete pod row", {{"pod", id}, {"error", r.error().message()}});
  });
  TRY(checkpoint("pod-after-intent", abandoned));

  TRY(sys::mkdirAll(s.podDir, 0755));
  undo.push([dir = s.podDir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  });
  if (!config.logDirectory.empty()) TRY(sys::mkdirAll(config.logDirectory, 0755));
  s.startup.lap("pod_dir");

  if (!s.usernsPath.empty()) {
    TRY(sys::mkdirAll(paths_.usernsDir(), 0755));
    TRY_CTX(host_.createUserns(s.usernsPath, config.uidMappings, config.gidMappings), "pod " + s.name);
    undo.push([this, path = s.usernsPath] { (void)host_.unpin(path); });
    s.startup.lap("userns");
  }

  if (config.network != NamespaceMode::Node) {
    TRY(sys::mkdirAll(paths_.netnsDir(), 0755));
    TRY_CTX(host_.createNetns(s.netnsPath, s.usernsPath), "pod " + s.name);
    undo.push([this, path = s.netnsPath] { (void)host_.unpin(path); });
    if (config.privileged) {
      // Before any container mounts sysfs in the namespace: the first mount decides for all.
      TRY(host_.mountSysfs(s.netnsPath, paths_.podSysfs(s.id)));
      undo.push([this, at = paths_.podSysfs(s.id)] { (void)host_.unmountSysfs(at); });
    }
    TRY(checkpoint("pod-after-netns", abandoned));
    s.startup.lap("netns");

    network::Attachment a;
    a.containerId = s.id;
    a.netnsPath = s.netnsPath;
    a.args = {{"K8S_POD_NAMESPACE", config.metadata.ns},
              {"K8S_POD_NAME", config.metadata.name},
              {"K8S_POD_INFRA_CONTAINER_ID", s.id},
              {"K8S_POD_UID", config.metadata.uid}};
    a.portMappings = config.portMappings;
    a.dnsServers = config.dnsServers;
    a.dnsSearches = config.dnsSearches;
    a.dnsOptions = config.dnsOptions;
    auto st = TRY_CTX(net_.add(a), "pod " + s.name + " network");
    undo.push([this, id = s.id] {
      if (auto r = net_.del(id); !r)
        log::warn("rollback: CNI DEL failed", {{"pod", id}, {"error", r.error().message()}});
    });
    s.network = st.network;
    s.ips = st.ips;
    TRY(checkpoint("pod-after-cni", abandoned));
    s.startup.lap("cni_add");
    if (auto net = podNetSysctls(cfg_, config.sysctls, kernelHasSysctl); !net.empty()) {
      TRY(host_.applyNetSysctls(s.netnsPath, net));
      s.startup.lap("sysctls");
    }
  }

  if (!s.ipcnsPath.empty() || !s.utsnsPath.empty()) {
    if (!s.ipcnsPath.empty()) TRY(sys::mkdirAll(paths_.ipcnsDir(), 0755));
    if (!s.utsnsPath.empty()) TRY(sys::mkdirAll(paths_.utsnsDir(), 0755));
    TRY_CTX(host_.createIpcUts(s.ipcnsPath, s.utsnsPath, podHostname(config), s.usernsPath), "pod " + s.name);
    undo.push([this, ipc = s.ipcnsPath, uts = s.utsnsPath] {
      if (!ipc.empty()) (void)host_.unpin(ipc);
      if (!uts.empty()) (void)host_.unpin(uts);
    });
    s.startup.lap("ipc_uts");
  }
  TRY(writePodFiles(paths_, s));
  s.startup.lap("pod_files");
  if (config.ipc != NamespaceMode::Node) {
    TRY(host_.mountShm(paths_.podShm(s.id), kDefaultShmBytes));
    undo.push([this, shm = paths_.podShm(s.id)] { (void)host_.unmountShm(shm); });
    s.startup.lap("shm");
  }
  TRY(checkpoint("pod-after-files", abandoned));

  // A sandboxing handler's infra container creates the sandbox itself.
  if (config.pid == NamespaceMode::Pod || isSandboxed(cfg_.runtimes.at(s.handler))) {
    TRY_CTX(infra_.start(s, undo), "pod " + s.name + " infra container");
    TRY(checkpoint("pod-after-infra", abandoned));
  }

  TRY(persist(s));
  TRY(checkpoint("pod-after-persist", abandoned));
  s.startup.lap("persist");
  pods_.add(std::make_shared<PodEntry>(s));
  undo.commit();
  for (const auto& step : s.startup.steps()) stepSeconds_.with({step.name}).observe(step.duration);
  startupSeconds_.observe(s.startup.total());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.startup.total()).count();
  log::info("pod ready",
            {{"pod", s.name}, {"id", s.id}, {"ip", s.ips.empty() ? "" : s.ips.front()}, {"startup_ms", ms}});
  publish(s.id, EventType::Created);
  publish(s.id, EventType::Started);
  return s.id;
}

void PodManager::publish(const std::string& id, EventType type) {
  if (events_) events_->publish({id, id, type, nowNs()});
}

Result<PodManager::Hold> PodManager::hold(const std::string& idOrPrefix) {
  auto e = TRY(pods_.find(idOrPrefix));
  Hold h;
  h.entry = e;
  h.lock = std::shared_lock(e->opLock());
  // It may have gone while we waited.
  if (e->retired()) return fail(Code::NotFound, "pod sandbox \"" + idOrPrefix + "\" not found");
  h.pod = e->snapshot();
  return h;
}

Result<> PodManager::release(Sandbox& s) {
  std::string errors;
  if (auto r = infra_.stop(s); !r) errors += r.error().message();
  TRY(faultPoint("stop-after-infra"));
  if (!s.netnsPath.empty()) {
    if (auto r = net_.del(s.id); !r) errors += (errors.empty() ? "" : "; ") + r.error().message();
    TRY(faultPoint("stop-after-cni"));
    if (s.config.privileged)
      if (auto r = host_.unmountSysfs(paths_.podSysfs(s.id)); !r)
        errors += (errors.empty() ? "" : "; ") + r.error().message();
    if (auto r = host_.unpin(s.netnsPath); !r) errors += (errors.empty() ? "" : "; ") + r.error().message();
    TRY(faultPoint("stop-after-netns"));
  }
  for (const auto* pin : {&s.ipcnsPath, &s.utsnsPath, &s.usernsPath})
    if (!pin->empty())
      if (auto r = host_.unpin(*pin); !r) errors += (errors.empty() ? "" : "; ") + r.error().message();
  if (auto r = host_.unmountShm(paths_.podShm(s.id)); !r) errors += (errors.empty() ? "" : "; ") + r.error().message();
  if (!errors.empty()) return fail(Code::Internal, "release pod " + s.id + ": " + errors);
  return {};
}

Result<> PodManager::stop(const std::string& idOrPrefix) {
  auto found = pods_.find(idOrPrefix);
  if (!found) return found.error().code() == Code::NotFound ? Result<>{} : fail(found.error());
  auto e = *found;
  std::unique_lock op(e->opLock());
  if (e->retired()) return {};
  Sandbox s = e->snapshot();
  if (containers_) TRY(containers_(s.id, false));
  if (s.state == SandboxState::NotReady) return {};
  TRY(persist(s, kRecordStopping));
  TRY(faultPoint("stop-after-intent"));
  TRY(release(s));
  s.state = SandboxState::NotReady;
  TRY(e->update(
      [&](Sandbox& now) {
        now = s;
        return true;
      },
      [&](const Sandbox& now) { return persist(now); }));
  TRY(faultPoint("stop-after-persist"));
  log::info("pod stopped", {{"pod", s.name}, {"id", s.id}});
  publish(s.id, EventType::Stopped);
  return {};
}

Result<> PodManager::updateResources(const std::string& idOrPrefix, const spec::Resources& resources,
                                     const spec::Resources& overhead) {
  auto e = TRY(pods_.find(idOrPrefix));
  std::unique_lock op(e->opLock());  // no stop or removal meanwhile
  if (e->snapshot().state != SandboxState::Ready)
    return fail(Code::FailedPrecondition, "pod " + e->id() + " is not ready; its resources stay as they were");
  return e->update(
      [&](Sandbox& now) {
        now.config.resources = spec::mergeResources(now.config.resources, resources);
        now.config.overhead = spec::mergeResources(now.config.overhead, overhead);
        return true;
      },
      [&](const Sandbox& now) { return persist(now); });
}

Result<> PodManager::remove(const std::string& idOrPrefix) {
  auto found = pods_.find(idOrPrefix);
  if (!found) return found.error().code() == Code::NotFound ? Result<>{} : fail(found.error());
  auto e = *found;
  std::unique_lock op(e->opLock());
  if (e->retired()) return {};  // removed while we waited
  Sandbox s = e->snapshot();
  if (containers_) TRY(containers_(s.id, true));
  TRY(release(s));
  TRY(infra_.remove(s));
  std::error_code ec;
  fs::remove_all(s.podDir, ec);
  if (ec) return fail(Code::Internal, "remove " + s.podDir + ": " + ec.message());
  TRY(e->retire([&]() -> Result<> {
    return db_.write([&](store::Tables& t) -> Result<> { return t.deleteSandbox(s.id).map([](bool) {}); });
  }));
  pods_.erase(e);
  log::info("pod removed", {{"pod", s.name}, {"id", s.id}});
  publish(s.id, EventType::Deleted);
  return {};
}

Result<sys::UniqueFd> PodManager::connectPort(const std::string& id, uint16_t port) const {
  Sandbox pod = TRY(get(id));
  if (pod.state != SandboxState::Ready) return fail(Code::FailedPrecondition, "pod " + pod.id + " is not ready");
  return network::connectLocalPort(pod.netnsPath, port);
}

Result<Sandbox> PodManager::get(const std::string& idOrPrefix) const {
  auto e = TRY(pods_.find(idOrPrefix));
  return e->snapshot();
}

std::vector<Sandbox> PodManager::list(const PodFilter& f) const {
  std::vector<Sandbox> out;
  for (const auto& e : pods_.all()) {
    if (!f.idPrefix.empty() && !e->id().starts_with(f.idPrefix)) continue;
    e->read([&](const Sandbox& s) {
      if (f.state && s.state != *f.state) return;
      for (const auto& [k, v] : f.labels) {
        auto it = s.config.labels.find(k);
        if (it == s.config.labels.end() || it->second != v) return;
      }
      out.push_back(s);
    });
  }
  return out;
}

}  // namespace crix::lifecycle
