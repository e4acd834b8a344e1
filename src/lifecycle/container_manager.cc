#include "lifecycle/container_manager.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "cgroups/cleanup.h"
#include "cgroups/stats.h"
#include "common/fault.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/parse.h"
#include "lifecycle/conmon_process.h"
#include "lifecycle/enforceable.h"
#include "lifecycle/rollback.h"
#include "security/seccomp.h"
#include "spec/container_spec.h"
#include "spec/gvisor_mounts.h"
#include "spec/handler_spec.h"
#include "spec/user.h"
#include "storage/rootfs.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::lifecycle {
namespace {

namespace fs = std::filesystem;

// When a process started, in ns since the epoch: its start ticks after
// the boot time that /proc/stat gives.
int64_t processStartedNs(int pid) {
  uint64_t ticks = sys::processStartTicks(pid);
  auto stat = sys::readFile("/proc/stat");
  auto at = stat ? stat->find("\nbtime ") : std::string::npos;
  if (!ticks || at == std::string::npos) return nowNs();
  auto line = stat->substr(at + 7, stat->find('\n', at + 7) - (at + 7));
  int64_t boot = parseNumber<int64_t>(line).value_or(0);
  int64_t hz = ::sysconf(_SC_CLK_TCK);
  return boot * 1000000000 + static_cast<int64_t>(ticks) * (1000000000 / hz);
}

}  // namespace

ContainerManager::ContainerManager(const config::Config& cfg, store::StateStore& db, PodManager& pods,
                                   image::ImageStore& images, storage::LayerStore& layers, Runtimes& runtimes,
                                   const cgroups::Controllers& controllers, HostOps& host)
    : cfg_(cfg),
      paths_(cfg.paths()),
      db_(db),
      pods_(pods),
      images_(images),
      layers_(layers),
      runtimes_(runtimes),
      controllers_(controllers),
      host_(host) {}

Result<> ContainerManager::load() {
  std::vector<store::ContainerRecord> records;
  TRY(db_.read([&](store::Tables& t) -> Result<> {
    records = TRY(t.listContainers());
    return {};
  }));
  for (const auto& r : records) {
    auto c = containerFromJson(r.data);
    if (!c) {
      log::error("cannot read container record", {{"container", r.id}, {"error", c.error().message()}});
      continue;
    }
    if (r.state == kRecordCreating) {
      // A crash cut CreateContainer short; the kubelet saw it fail.
      if (auto undone = undoCreate(*c); !undone) {
        log::error("cannot roll back half-created container",
                   {{"container", c->name}, {"id", c->id}, {"error", undone.error().message()}});
        store_.add(std::make_shared<ContainerEntry>(*c));  // listed, so that RemoveContainer can finish the job
      }
      continue;
    }
    auto e = std::make_shared<ContainerEntry>(*c);
    bool wasLive = c->state == ContainerState::Created || c->state == ContainerState::Running;
    if (wasLive) reconcile(*e);
    if (wasLive && e->snapshot().state == ContainerState::Exited)
      log::info("container exited while crixd was down", {{"id", c->id}, {"exit_code", e->snapshot().exitCode}});
    store_.add(std::move(e));
  }
  return {};
}

Result<> ContainerManager::undoCreate(const Container& c) {
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  bool ownCgroup = cfg_.cgroupDriver != "systemd" && !c.cgroupsPath.empty();
  if (!runtime->remove(c.id, true)) {
    // A runtime killed mid-create leaves its init waiting in the cgroup,
    // and state that delete may refuse until that process is gone.
    if (ownCgroup) TRY(host_.destroyCgroup(c.cgroupsPath));
    TRY(runtime->remove(c.id, true));
  }
  if (ownCgroup) TRY(host_.destroyCgroup(c.cgroupsPath));
  // conmon reaps the container and exits by itself; killed first, it would
  // leave the container's process to an init that may not reap it.
  for (int i = 0; i < 100 && conmonPid(c) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (int conmon = conmonPid(c); conmon > 0) ::kill(conmon, SIGKILL);
  TRY(removeArtifacts(c));
  TRY(db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(c.id).map([](bool) {}); }));
  log::info("rolled back half-created container", {{"container", c.name}, {"id", c.id}});
  return {};
}

Result<std::string> ContainerManager::runtimeSpec(const Container& c) const {
  return sys::readFile(Paths::bundleSpec(c.bundle));
}

Result<> ContainerManager::removeArtifacts(const Container& c) {
  ::unlink(paths_.exitFile(c.id).c_str());
  TRY(host_.removeContainerDir(c.id));
  std::error_code ec;
  fs::remove_all(c.bundle, ec);
  fs::remove_all(paths_.attachLink(c.id), ec);  // conmon's, left when it exits
  return {};
}

int ContainerManager::conmonPid(const Container& c) const {
  return host_.conmonPid(c.id, c.bundle);
}

void ContainerManager::reconcile(ContainerEntry& e) {
  refresh(e);  // an exit file written while crixd was down
  Container c = e.snapshot();
  if (c.state != ContainerState::Created && c.state != ContainerState::Running) return;
  // A live conmon vouches for a running container; asking the runtime
  // costs an exec, so only what is in doubt is asked.
  if (c.state == ContainerState::Running && conmonPid(c) > 0) return;
  auto runtime = runtimes_.get(c.handler);
  if (!runtime) return;
  auto st = (*runtime)->state(c.id);
  if (c.state == ContainerState::Created && st && st->status == "running") {
    // Started, but the crash came before the row said so.
    auto written = e.update(
        [&](Container& now) {
          now.state = ContainerState::Running;
          now.startedAt = processStartedNs(st->pid);
          return true;
        },
        [&](const Container& now) { return persist(now); });
    if (!written) log::error("cannot record container start", {{"id", c.id}, {"error", written.error().message()}});
    log::info("container found running", {{"id", c.id}});
    return;
  }
  if (conmonPid(c) > 0) return;  // conmon watches it and will write the exit file
  if (st && st->status == "running") {
    // The container outlived its monitor: it is left running, untouched,
    // but nothing will record its exit.
    log::warn("container runs without conmon", {{"id", c.id}});
    return;
  }
  markExited(e, 255, "Error", "conmon exited without recording the container's exit");
  log::warn("container lost its monitor; exit status unknown", {{"id", c.id}});
}

Result<> ContainerManager::persist(const Container& c, const char* recordState) {
  return db_.write([&](store::Tables& t) -> Result<> {
    return t.putContainer(
        {c.id, c.podId, c.name, recordState ? recordState : stateName(c.state), c.createdAt, toJson(c)});
  });
}

void ContainerManager::refresh(ContainerEntry& e) {
  auto c = e.snapshot();
  if (c.state != ContainerState::Running && c.state != ContainerState::Created) return;
  auto runtime = runtimes_.get(c.handler);
  if (!runtime) return;
  auto code = (*runtime)->exitCode(c.id);
  if (!code || !*code) return;
  struct stat st {};
  int64_t finished = ::stat(paths_.exitFile(c.id).c_str(), &st) == 0
                         ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec
                         : nowNs();
  // The cgroup lives until `runc delete`, so the OOM killer's count is still there.
  auto usage = cgroups::readStats(c.cgroupsPath);
  bool oomKilled = usage && usage->oomKilled;
  auto written = e.update(
      [&](Container& now) {
        if (now.state != ContainerState::Running && now.state != ContainerState::Created) return false;
        now.state = ContainerState::Exited;
        now.exitCode = **code;
        now.finishedAt = finished;
        now.reason = oomKilled ? "OOMKilled" : now.exitCode == 0 ? "Completed" : "Error";
        return true;
      },
      persistThenPublish(EventType::Stopped));
  if (!written) log::error("cannot record container exit", {{"id", c.id}, {"error", written.error().message()}});
}

void ContainerManager::markExited(ContainerEntry& e, int code, const std::string& reason, const std::string& message) {
  auto written = e.update(
      [&](Container& now) {
        if (now.state == ContainerState::Exited) return false;
        now.state = ContainerState::Exited;
        now.exitCode = code;
        now.reason = reason;
        now.message = message;
        now.finishedAt = nowNs();
        return true;
      },
      persistThenPublish(EventType::Stopped));
  if (!written) log::error("cannot record container exit", {{"id", e.id()}, {"error", written.error().message()}});
}

void ContainerManager::publish(const Container& c, EventType type) {
  if (events_) events_->publish({c.id, c.podId, type, nowNs()});
}

std::function<Result<>(const Container&)> ContainerManager::persistThenPublish(EventType type) {
  // Under the entry's state lock: events leave in the order the states
  // change, before any waiter (a stop, then a remove) moves on.
  return [this, type](const Container& now) -> Result<> {
    TRY(persist(now));
    publish(now, type);
    return {};
  };
}

void ContainerManager::onExit(const std::string& id) {
  if (!id.empty()) {
    if (auto e = store_.find(id); e && (*e)->id() == id) refresh(**e);
    return;
  }
  for (const auto& e : store_.all()) refresh(*e);
}

void ContainerManager::exitsWatched() {
  for (const auto& e : store_.all()) refresh(*e);
  exitsWatched_ = true;
}

Result<Container> ContainerManager::get(const std::string& idOrPrefix) {
  auto e = TRY(store_.find(idOrPrefix));
  refresh(*e);
  return e->snapshot();
}

std::string ContainerManager::operation(const std::string& id) const {
  auto e = store_.find(id);
  return e ? opName((*e)->op()) : "";
}

void ContainerManager::visit(const ContainerFilter& f, const std::function<void(const Container&)>& fn) {
  std::string podId = f.podId;
  if (!podId.empty() && podId.size() != kIdLength) {
    // A truncated pod id, as every id-taking call takes one; no such pod
    // (or more than one): nothing to list.
    auto pod = pods_.get(podId);
    if (!pod) return;
    podId = pod->id;
  }
  for (const auto& e : store_.all()) {
    if (!f.idPrefix.empty() && !e->id().starts_with(f.idPrefix)) continue;
    if (!podId.empty() && e->podId() != podId) continue;
    if (!exitsWatched_) refresh(*e);
    e->read([&](const Container& c) {
      if (f.state && c.state != *f.state) return;
      for (const auto& [k, v] : f.labels) {
        auto it = c.config.labels.find(k);
        if (it == c.config.labels.end() || it->second != v) return;
      }
      fn(c);
    });
  }
}

std::vector<Container> ContainerManager::list(const ContainerFilter& f) {
  std::vector<Container> out;
  visit(f, [&](const Container& c) { out.push_back(c); });
  return out;
}

Result<> ContainerManager::start(const std::string& idOrPrefix) {
  auto e = TRY(store_.find(idOrPrefix));
  std::lock_guard op(e->opLock());
  if (e->retired()) return fail(Code::NotFound, "container " + e->id() + " was removed");
  refresh(*e);
  Container c = e->snapshot();
  if (c.state != ContainerState::Created)
    return fail(Code::FailedPrecondition, "container " + c.id + " is " + stateName(c.state) + ", not created");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  e->setOp(ContainerOp::Starting);
  int64_t started = nowNs();  // before: a short-lived process may exit before start returns
  auto ran = runtime->start(c.id);
  e->clearOp(ContainerOp::Starting);
  TRY(std::move(ran));
  TRY(faultPoint("start-after-runtime"));
  bool running = false;
  TRY(e->update(
      [&](Container& now) {
        now.startedAt = started;
        // The exit monitor may have seen it exit already: keep that.
        if (now.state == ContainerState::Created) {
          now.state = ContainerState::Running;
          running = true;
        }
        return true;
      },
      [&](const Container& now) -> Result<> {
        TRY(persist(now));
        if (running) publish(now, EventType::Started);
        return {};
      }));
  TRY(faultPoint("start-after-persist"));
  return {};
}

Result<> ContainerManager::stop(const std::string& idOrPrefix, std::chrono::seconds timeout, const ClientGone& gone) {
  auto found = store_.find(idOrPrefix);
  if (!found) return found.error().code() == Code::NotFound ? Result<>{} : fail(found.error());
  auto e = *found;
  auto poll = [this, e] { refresh(*e); };
  oci::OciRuntime* runtime = nullptr;
  {
    std::lock_guard op(e->opLock());
    if (e->retired()) return {};
    refresh(*e);
    Container c = e->snapshot();
    if (c.state == ContainerState::Exited) return {};
    runtime = TRY(runtimes_.get(c.handler));
    if (c.state == ContainerState::Created) {
      // Never started: nothing to wait for but the runtime's own state.
      (void)runtime->kill(c.id, SIGKILL);
      TRY(runtime->remove(c.id, true));
      refresh(*e);
      markExited(*e, 137, "Error", "");
      return {};
    }
    e->setOp(ContainerOp::Stopping);
    if (timeout.count() > 0) (void)runtime->kill(c.id, c.stopSignal);
  }
  // The op lock is free while we wait: a Remove or a shorter Stop may act meanwhile.
  struct Done {
    ContainerEntry& e;
    ~Done() { e.clearOp(ContainerOp::Stopping); }
  } done{*e};
  if (timeout.count() > 0 && e->waitExited(timeout, gone, poll)) return {};
  if (gone && gone())
    return fail(Code::DeadlineExceeded, "StopContainer of " + e->id() + ": the client went away; no SIGKILL sent");
  {
    std::lock_guard op(e->opLock());
    if (e->retired()) return {};
    (void)runtime->kill(e->id(), SIGKILL);
  }
  if (!e->waitExited(std::chrono::seconds(10), nullptr, poll))
    return fail(Code::DeadlineExceeded, "container " + e->id() + " did not exit after SIGKILL");
  return {};
}

Result<> ContainerManager::remove(const std::string& idOrPrefix) {
  auto found = store_.find(idOrPrefix);
  if (!found) return found.error().code() == Code::NotFound ? Result<>{} : fail(found.error());
  auto e = *found;
  TRY(stop(e->id(), std::chrono::seconds(0)));
  {
    std::lock_guard op(e->opLock());
    if (e->retired()) return {};
    e->setOp(ContainerOp::Removing);
    Container c = e->snapshot();
    auto removed = [&]() -> Result<> {
      oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
      TRY(runtime->remove(c.id, true));
      TRY(removeArtifacts(c));
      return e->retire([&]() -> Result<> {
        return db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(c.id).map([](bool) {}); });
      });
    }();
    e->clearOp(ContainerOp::Removing);
    TRY(std::move(removed));
    store_.erase(e);
    log::info("container removed", {{"container", c.name}, {"id", c.id}});
    publish(c, EventType::Deleted);
  }
  // Its image may have been removed while it ran: its layers can go now.
  return images_.dropUnusedLayers();
}

Result<ExecResult> ContainerManager::execSync(const std::string& idOrPrefix, const std::vector<std::string>& cmd,
                                              std::chrono::seconds timeout) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is not running");
  if (cmd.empty()) return fail(Code::InvalidArgument, "ExecSync: cmd is required");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  auto limit =
      timeout.count() > 0 ? std::chrono::milliseconds(timeout) : std::chrono::milliseconds(std::chrono::hours(24));
  auto r = TRY(runtime->exec(c.id, cmd, limit));
  return ExecResult{r.out, r.err, r.exitCode >= 0 ? r.exitCode : 128 + r.signal};
}

Result<std::unique_ptr<oci::StreamProcess>> ContainerManager::execStream(const std::string& idOrPrefix,
                                                                         const std::vector<std::string>& cmd,
                                                                         const oci::ExecStreamOptions& opts) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is not running");
  if (cmd.empty()) return fail(Code::InvalidArgument, "Exec: cmd is required");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  oci::ExecStreamOptions withBundle = opts;
  withBundle.bundle = c.bundle;
  return runtime->execStream(c.id, cmd, withBundle);
}

Result<std::unique_ptr<oci::StreamProcess>> ContainerManager::attach(const std::string& idOrPrefix) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is not running");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  return runtime->attach(c.id, c.bundle);
}

Result<ContainerStats> ContainerManager::stats(const std::string& idOrPrefix) {
  auto e = TRY(store_.find(idOrPrefix));
  refresh(*e);
  ContainerStats out;
  out.container = e->snapshot();
  out.timestamp = nowNs();
  if (out.container.state == ContainerState::Running) {
    if (auto st = cgroups::readStats(out.container.cgroupsPath)) out.cgroup = *st;
  }
  auto upper = storage::diskUsage(paths_.containerUpper(e->id()));
  e->setUsage(upper.bytes, upper.inodes);
  out.writableBytes = upper.bytes;
  out.writableInodes = upper.inodes;
  return out;
}

Result<Filesystem> ContainerManager::writableFilesystem() const {
  return sys::filesystemOf(paths_.containersDir());
}

ContainerManager::WritableUsage ContainerManager::writableLayers() {
  WritableUsage sum;
  for (const auto& e : store_.all()) {
    auto known = e->usage(std::chrono::seconds(10));
    if (!known) {
      // Only the writable layer (upper/), never the mounted rootfs beside it.
      auto upper = storage::diskUsage(paths_.containerUpper(e->id()));
      e->setUsage(upper.bytes, upper.inodes);
      known = ContainerEntry::Usage{upper.bytes, upper.inodes, {}};
    }
    sum.bytes += known->bytes;
    sum.inodes += known->inodes;
  }
  return sum;
}

Result<> ContainerManager::updateResources(const std::string& idOrPrefix, const spec::Resources& r) {
  auto e = TRY(store_.find(idOrPrefix));
  std::lock_guard op(e->opLock());
  refresh(*e);
  Container c = e->snapshot();
  if (c.state != ContainerState::Created && c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is " + stateName(c.state));
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  // The limits the update leaves unset stay as they are, in the runtime
  // and in the record alike.
  spec::Resources asked = spec::mergeResources(c.config.resources, r);
  spec::Resources enforced = asked;
  auto dropped = TRY(dropUnenforceable(enforced, controllers_, cfg_.tolerateMissingHugetlb));
  e->setOp(ContainerOp::Updating);
  auto updated = runtime->update(c.id, spec::resourcesJson(enforced).dump());
  if (updated && !r.hugepageLimits.empty() && !enforced.hugepageLimits.empty())
    updated = host_.setHugetlbLimits(c.cgroupsPath, enforced.hugepageLimits);
  e->clearOp(ContainerOp::Updating);
  TRY(std::move(updated));
  return e->update(
      [&](Container& now) {
        now.config.resources = asked;
        now.droppedLimits = dropped;
        return true;
      },
      [&](const Container& now) { return persist(now); });
}

Result<PodStats> ContainerManager::podStats(const std::string& podId) {
  PodStats out;
  out.pod = TRY(pods_.get(podId));
  out.timestamp = nowNs();
  for (const auto& c : list({.podId = out.pod.id})) {
    auto st = stats(c.id);
    if (!st) continue;
    cgroups::addUsage(out.cgroup, st->cgroup);
    out.containers.push_back(std::move(*st));
  }
  if (out.pod.state == SandboxState::Ready && !out.pod.netnsPath.empty()) {
    if (auto ifs = network::interfaceStats(out.pod.netnsPath)) out.interfaces = std::move(*ifs);
  }
  return out;
}

Result<> ContainerManager::reopenLog(const std::string& idOrPrefix) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is not running");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  if (c.logPath.empty()) return {};
  return runtime->reopenLog(c.bundle, c.logPath);
}

std::set<std::string> ContainerManager::layersInUse() const {
  std::set<std::string> chains;
  for (const auto& e : store_.all())
    e->read([&](const Container& c) {
      chains.insert(c.chainIds.begin(), c.chainIds.end());
      chains.insert(c.volumeChainIds.begin(), c.volumeChainIds.end());
    });
  return chains;
}

std::map<std::string, std::string> ContainerManager::volumeImagesInUse() const {
  std::map<std::string, std::string> out;
  for (const auto& e : store_.all())
    e->read([&](const Container& c) {
      for (const auto& id : c.volumeImageIds) out.emplace(id, c.name);
    });
  return out;
}

Result<> ContainerManager::forPod(const std::string& podId, bool removeToo) {
  ContainerFilter f;
  f.podId = podId;
  auto containers = list(f);
  auto grace = std::chrono::ceil<std::chrono::seconds>(cfg_.podStopGracePeriod);
  if (grace.count() > 0) {
    // Each its stop signal at once, then one grace period for them all.
    std::vector<std::future<Result<>>> stops;
    for (const auto& c : containers)
      if (c.state == ContainerState::Running)
        stops.push_back(std::async(std::launch::async, [this, id = c.id, grace] { return stop(id, grace); }));
    for (auto& s : stops) TRY(s.get());
  }
  for (const auto& c : containers) {
    TRY(stop(c.id, std::chrono::seconds(0)));
    if (removeToo) TRY(remove(c.id));
  }
  return {};
}

}  // namespace crix::lifecycle
