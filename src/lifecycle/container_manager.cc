#include "lifecycle/container_manager.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "cgroups/cleanup.h"
#include "cgroups/stats.h"
#include "common/fault.h"
#include "common/ids.h"
#include "common/log.h"
#include "lifecycle/conmon_process.h"
#include "lifecycle/enforceable.h"
#include "lifecycle/id_prefix.h"
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

// Capability names by number, for the privileged set.
const std::vector<std::string>& capNames() {
  static const std::vector<std::string> names = {"CAP_CHOWN",
                                                 "CAP_DAC_OVERRIDE",
                                                 "CAP_DAC_READ_SEARCH",
                                                 "CAP_FOWNER",
                                                 "CAP_FSETID",
                                                 "CAP_KILL",
                                                 "CAP_SETGID",
                                                 "CAP_SETUID",
                                                 "CAP_SETPCAP",
                                                 "CAP_LINUX_IMMUTABLE",
                                                 "CAP_NET_BIND_SERVICE",
                                                 "CAP_NET_BROADCAST",
                                                 "CAP_NET_ADMIN",
                                                 "CAP_NET_RAW",
                                                 "CAP_IPC_LOCK",
                                                 "CAP_IPC_OWNER",
                                                 "CAP_SYS_MODULE",
                                                 "CAP_SYS_RAWIO",
                                                 "CAP_SYS_CHROOT",
                                                 "CAP_SYS_PTRACE",
                                                 "CAP_SYS_PACCT",
                                                 "CAP_SYS_ADMIN",
                                                 "CAP_SYS_BOOT",
                                                 "CAP_SYS_NICE",
                                                 "CAP_SYS_RESOURCE",
                                                 "CAP_SYS_TIME",
                                                 "CAP_SYS_TTY_CONFIG",
                                                 "CAP_MKNOD",
                                                 "CAP_LEASE",
                                                 "CAP_AUDIT_WRITE",
                                                 "CAP_AUDIT_CONTROL",
                                                 "CAP_SETFCAP",
                                                 "CAP_MAC_OVERRIDE",
                                                 "CAP_MAC_ADMIN",
                                                 "CAP_SYSLOG",
                                                 "CAP_WAKE_ALARM",
                                                 "CAP_BLOCK_SUSPEND",
                                                 "CAP_AUDIT_READ",
                                                 "CAP_PERFMON",
                                                 "CAP_BPF",
                                                 "CAP_CHECKPOINT_RESTORE"};
  return names;
}

// The CRI devices as nodes: each host path must be a device.
Result<std::vector<spec::DeviceNode>> deviceNodes(const std::vector<ContainerConfig::Device>& devices) {
  std::vector<spec::DeviceNode> out;
  for (const auto& d : devices) {
    struct stat st {};
    if (::stat(d.hostPath.c_str(), &st) != 0)
      return fail(Code::InvalidArgument, "device \"" + d.hostPath + "\" does not exist");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return fail(Code::InvalidArgument, "\"" + d.hostPath + "\" is not a device");
    std::string access = d.permissions.empty() ? "rwm" : d.permissions;
    if (access.find_first_not_of("rwm") != std::string::npos)
      return fail(Code::InvalidArgument, "device permissions \"" + d.permissions + "\": only r, w and m");
    std::string path = d.containerPath.empty() ? d.hostPath : d.containerPath;
    if (path[0] != '/') return fail(Code::InvalidArgument, "device path \"" + path + "\" is not absolute");
    out.push_back({path, S_ISCHR(st.st_mode) ? 'c' : 'b', static_cast<int64_t>(major(st.st_rdev)),
                   static_cast<int64_t>(minor(st.st_rdev)), st.st_mode & 07777, access});
  }
  return out;
}

// Every capability crixd holds: asking for one it lacks makes runc fail
// (this node has no CAP_SYS_RESOURCE, for one).
std::vector<std::string> readOwnCapabilities() {
  std::vector<std::string> out;
  auto status = sys::readFile("/proc/self/status");
  if (!status) return out;
  auto p = status->find("CapBnd:\t");
  if (p == std::string::npos) return out;
  uint64_t bits = std::stoull(status->substr(p + 8, 16), nullptr, 16);
  for (size_t i = 0; i < capNames().size(); ++i)
    if (bits & (uint64_t{1} << i)) out.push_back(capNames()[i]);
  return out;
}

const std::vector<std::string>& ownCapabilities() {
  static const std::vector<std::string> caps = readOwnCapabilities();
  return caps;
}

// When a process started, in ns since the epoch: its start ticks after
// the boot time that /proc/stat gives.
int64_t processStartedNs(int pid) {
  uint64_t ticks = sys::processStartTicks(pid);
  auto stat = sys::readFile("/proc/stat");
  auto at = stat ? stat->find("\nbtime ") : std::string::npos;
  if (!ticks || at == std::string::npos) return nowNs();
  int64_t boot = std::stoll(stat->substr(at + 7));
  int64_t hz = ::sysconf(_SC_CLK_TCK);
  return boot * 1000000000 + static_cast<int64_t>(ticks) * (1000000000 / hz);
}

}  // namespace

ContainerManager::ContainerManager(const config::Config& cfg, store::StateStore& db, PodManager& pods,
                                   image::ImageStore& images, storage::LayerStore& layers, Runtimes& runtimes,
                                   const cgroups::Controllers& controllers)
    : cfg_(cfg),
      db_(db),
      pods_(pods),
      images_(images),
      layers_(layers),
      runtimes_(runtimes),
      controllers_(controllers) {}

Result<> ContainerManager::load() {
  std::vector<store::ContainerRecord> records;
  TRY(db_.read([&](store::Tables& t) -> Result<> {
    records = TRY(t.listContainers());
    return {};
  }));
  std::lock_guard lock(mu_);
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
        names_[c->name] = c->id;  // keep it listed, so that RemoveContainer can finish the job
        containers_[c->id] = *c;
      }
      continue;
    }
    reconcile(*c);
    names_[c->name] = c->id;
    containers_[c->id] = *c;
  }
  return {};
}

Result<> ContainerManager::undoCreate(const Container& c) {
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  bool ownCgroup = cfg_.cgroupDriver != "systemd" && !c.cgroupsPath.empty();
  if (!runtime->remove(c.id, true)) {
    // A runtime killed mid-create leaves its init waiting in the cgroup,
    // and state that delete may refuse until that process is gone.
    if (ownCgroup) TRY(cgroups::destroyCgroup(c.cgroupsPath));
    TRY(runtime->remove(c.id, true));
  }
  if (ownCgroup) TRY(cgroups::destroyCgroup(c.cgroupsPath));
  // conmon reaps the container and exits by itself; killed first, it would
  // leave the container's process to an init that may not reap it.
  for (int i = 0; i < 100 && conmonPid(c) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (int conmon = conmonPid(c); conmon > 0) ::kill(conmon, SIGKILL);
  ::unlink((cfg_.stateDir + "/exits/" + c.id).c_str());
  TRY(storage::removeContainerDir(cfg_.root + "/containers", c.id));
  std::error_code ec;
  fs::remove_all(c.bundle, ec);
  fs::remove_all(cfg_.stateDir + "/attach/" + c.id, ec);
  TRY(db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(c.id).map([](bool) {}); }));
  log::info("rolled back half-created container", {{"container", c.name}, {"id", c.id}});
  return {};
}

int ContainerManager::conmonPid(const Container& c) const {
  auto text = sys::readFile(c.bundle + "/conmon.pid");
  if (!text || text->empty()) return 0;
  int pid = std::atoi(text->c_str());
  if (pid <= 0) return 0;
  // A recycled pid runs something else: conmon's command line names the container.
  auto args = sys::processArgs(pid);
  return isConmon(args) && argAfter(args, "-c") == c.id ? pid : 0;
}

void ContainerManager::reconcile(Container& c) {
  if (c.state != ContainerState::Created && c.state != ContainerState::Running) return;
  refresh(c);  // an exit file written while crixd was down
  if (c.state == ContainerState::Exited) {
    log::info("container exited while crixd was down", {{"id", c.id}, {"exit_code", c.exitCode}});
    return;
  }
  // A live conmon vouches for a running container; asking the runtime
  // costs an exec, so only what is in doubt is asked.
  if (c.state == ContainerState::Running && conmonPid(c) > 0) return;
  auto runtime = runtimes_.get(c.handler);
  if (!runtime) return;
  auto st = (*runtime)->state(c.id);
  if (c.state == ContainerState::Created && st && st->status == "running") {
    // Started, but the crash came before the row said so.
    c.state = ContainerState::Running;
    c.startedAt = processStartedNs(st->pid);
    (void)persist(c);
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
  c.state = ContainerState::Exited;
  c.exitCode = 255;
  c.finishedAt = nowNs();
  c.reason = "Error";
  c.message = "conmon exited without recording the container's exit";
  (void)persist(c);
  log::warn("container lost its monitor; exit status unknown", {{"id", c.id}});
}

Result<> ContainerManager::persist(const Container& c, const char* recordState) {
  return db_.write([&](store::Tables& t) -> Result<> {
    return t.putContainer(
        {c.id, c.podId, c.name, recordState ? recordState : stateName(c.state), c.createdAt, toJson(c)});
  });
}

Result<std::string> ContainerManager::create(const std::string& podId, const ContainerConfig& cc) {
  Sandbox pod = TRY(pods_.get(podId));
  if (pod.state != SandboxState::Ready)
    return fail(Code::FailedPrecondition, "pod " + pod.id + " is not ready; cannot create containers in it");
  if (cc.name.empty()) return fail(Code::InvalidArgument, "container metadata needs a name");
  if (cc.runAsGroup && !cc.runAsUser && cc.runAsUsername.empty())
    return fail(Code::InvalidArgument, "run_as_group needs run_as_user or run_as_username");
  if (cc.privileged && !pod.config.privileged)
    return fail(Code::InvalidArgument, "container " + cc.name + " is privileged but its pod is not");
  if (cc.logPath.find("..") != std::string::npos || (!cc.logPath.empty() && cc.logPath[0] == '/'))
    return fail(Code::InvalidArgument, "log_path \"" + cc.logPath + "\" must stay inside the pod's log directory");
  for (const auto& m : cc.mounts) {
    struct stat st {};
    if (::stat(m.hostPath.c_str(), &st) != 0)
      return fail(Code::InvalidArgument, "mount source \"" + m.hostPath + "\" does not exist");
    if (m.containerPath.empty() || m.containerPath[0] != '/')
      return fail(Code::InvalidArgument, "mount destination \"" + m.containerPath + "\" is not an absolute path");
  }
  auto devices = TRY(deviceNodes(cc.devices));
  spec::Resources enforced = cc.resources;
  auto droppedLimits = TRY(dropUnenforceable(enforced, controllers_, cfg_.tolerateMissingHugetlb));
  auto seccomp = TRY(security::parseSeccompPath(cc.seccompProfile));
  auto img = images_.find(cc.image);
  if (!img) return fail(Code::NotFound, "image \"" + cc.image + "\" is not present; pull it first");
  oci::OciRuntime* runtime = TRY(runtimes_.get(pod.handler));

  Container c;
  c.id = newId();
  c.podId = pod.id;
  c.config = cc;
  c.imageId = img->id;
  c.chainIds = img->chainIds;
  c.handler = pod.handler;
  c.createdAt = nowNs();
  c.name = containerName(cc, pod.config.metadata.name, pod.config.metadata.ns, pod.config.metadata.uid);
  c.droppedLimits = droppedLimits;
  if (!droppedLimits.empty()) {
    std::string lines;
    for (const auto& d : droppedLimits) lines += (lines.empty() ? "" : "; ") + d;
    log::debug("limits the host cannot enforce left out", {{"container", c.name}, {"limits", lines}});
  }
  Rollback undo;
  {
    std::lock_guard lock(mu_);
    if (auto taken = names_.find(c.name); taken != names_.end())
      return fail(Code::AlreadyExists, "cannot reserve container name \"" + c.name + "\": taken by " + taken->second);
    names_[c.name] = c.id;
  }
  undo.push([this, name = c.name] {
    std::lock_guard lock(mu_);
    names_.erase(name);
  });
  // Intent before effect: the row names the rootfs, bundle, conmon and
  // runtime state the next steps make (all keyed by the id).
  c.bundle = cfg_.stateDir + "/containers/" + c.id;
  c.cgroupsPath = cgroupsPathFor(cfg_, pod.config.cgroupParent, c.id);
  TRY(persist(c, kRecordCreating));
  undo.push([this, id = c.id] {
    auto r = db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(id).map([](bool) {}); });
    if (!r) log::warn("rollback: cannot delete container row", {{"container", id}, {"error", r.error().message()}});
  });
  TRY(faultPoint("ctr-after-intent"));

  std::string containersDir = cfg_.root + "/containers";
  std::vector<std::string> lowers;
  for (auto it = img->chainIds.rbegin(); it != img->chainIds.rend(); ++it) lowers.push_back(layers_.diffPath(*it));
  auto idmap = podIdMappedLayers(pod);
  std::string rootfs = TRY(storage::mountRootfs(containersDir, c.id, lowers, idmap ? &*idmap : nullptr));
  undo.push([containersDir, id = c.id] { (void)storage::removeContainerDir(containersDir, id); });
  TRY(faultPoint("ctr-after-rootfs"));

  // The user, from the container's own files.
  std::string user = img->parsed.user;
  if (cc.runAsUser) user = std::to_string(*cc.runAsUser);
  if (!cc.runAsUsername.empty()) user = cc.runAsUsername;
  if (cc.runAsGroup) user = user.substr(0, user.find(':')) + ":" + std::to_string(*cc.runAsGroup);
  auto passwd = sys::readFile(rootfs + "/etc/passwd");
  auto group = sys::readFile(rootfs + "/etc/group");
  auto resolved = TRY(spec::resolveUser(user, passwd ? *passwd : "", group ? *group : ""));

  spec::ContainerSpecInput in;
  in.rootfs = rootfs;
  in.args = spec::processArgs(cc.command, cc.args, img->parsed.entrypoint, img->parsed.cmd);
  if (in.args.empty())
    return fail(Code::InvalidArgument, "container " + cc.name + " has no command and its image none");
  std::string hostname = podHostname(pod.config);
  in.env = spec::mergeEnv(spec::mergeEnv(img->parsed.env, {"HOSTNAME=" + hostname}), cc.envs);
  in.cwd = cc.workingDir.empty() ? img->parsed.workingDir : cc.workingDir;
  in.terminal = cc.tty;
  in.uid = resolved.uid;
  in.gid = resolved.gid;
  in.additionalGids = resolved.groups;
  for (auto g : cc.supplementalGroups) in.additionalGids.push_back(static_cast<uint32_t>(g));
  in.hostname = hostname;
  in.hostNetwork = pod.config.network == NamespaceMode::Node;
  in.netnsPath = pod.netnsPath;
  in.userns = podUserns(pod);
  in.hostIpc = pod.config.ipc == NamespaceMode::Node;
  in.hostPid = cc.pidMode == 2;
  const auto& handler = cfg_.runtimes.at(pod.handler);
  // Under gVisor the sandbox decides the namespaces: the infra's host pid
  // is the sandbox's, not a process whose namespaces a container could join.
  if (pod.infra && pod.infraPid > 0 && !isSandboxed(handler)) {
    if (cc.pidMode == 0) in.pidnsPath = "/proc/" + std::to_string(pod.infraPid) + "/ns/pid";
    if (!in.hostIpc) in.ipcnsPath = "/proc/" + std::to_string(pod.infraPid) + "/ns/ipc";
  }
  auto covered = [&](const std::string& dst) {
    return std::any_of(cc.mounts.begin(), cc.mounts.end(), [&](const auto& m) { return m.containerPath == dst; });
  };
  for (const auto& [dst, file] : std::vector<std::pair<std::string, std::string>>{
           {"/etc/hostname", "hostname"}, {"/etc/hosts", "hosts"}, {"/etc/resolv.conf", "resolv.conf"}})
    if (!covered(dst)) in.mounts.push_back({dst, pod.podDir + "/" + file, cc.readonlyRootfs, "rprivate"});
  if (!covered("/dev/shm"))
    in.mounts.push_back({"/dev/shm", in.hostIpc ? "/dev/shm" : pod.podDir + "/shm", false, "rprivate"});
  for (auto m : cc.mounts) {
    // In a pod with its own user namespace, volumes are seen through it
    // (the runtime's bind mount of an idmapped mount keeps the mapping).
    if (!pod.usernsPath.empty()) {
      std::string at = containersDir + "/" + c.id + "/volume-maps/" + std::to_string(in.mounts.size());
      TRY_CTX(storage::mountIdMapped(m.hostPath, at, pod.usernsPath), "volume " + m.containerPath);
      m.hostPath = at;
    }
    in.mounts.push_back(m);
  }
  // The image's volumes: a fresh directory each, unless a CRI mount covers it.
  if (cfg_.imageVolumes == "mkdir") {
    int n = 0;
    for (const auto& v : img->parsed.volumes) {
      if (v.empty() || v[0] != '/' || covered(v)) continue;
      std::string dir = containersDir + "/" + c.id + "/volumes/" + std::to_string(n++);
      TRY(sys::mkdirAll(dir, 0755));
      // Owned like the image's own directory there, if it has one.
      struct stat st {};
      if (::lstat((rootfs + v).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        (void)::chown(dir.c_str(), st.st_uid, st.st_gid);
        (void)::chmod(dir.c_str(), st.st_mode & 07777);
      }
      in.mounts.push_back({v, dir, false, "rprivate"});
    }
  }
  in.devices = devices;
  in.cgroupsPath = c.cgroupsPath;
  in.privileged = cc.privileged;
  in.withoutHostDevices = handler.privilegedWithoutHostDevices;
  in.readonlyRootfs = cc.readonlyRootfs;
  in.noNewPrivileges = cc.noNewPrivs;
  const auto& own = ownCapabilities();
  in.capabilities =
      cc.privileged ? own : spec::adjustCapabilities(spec::defaultCapabilities(), cc.capAdd, cc.capDrop, own);
  in.oomScoreAdj = clampOomScoreAdj(static_cast<int>(cc.oomScoreAdj));
  for (const auto& [k, v] : pod.config.sysctls)
    if (!k.starts_with("net.") || in.hostNetwork) in.sysctls[k] = v;
  in.annotations = spec::passedAnnotations(handler.allowedAnnotations, pod.config.annotations, cc.annotations);
  in.annotations[spec::kContainerTypeAnnotation] = "container";
  in.annotations[spec::kSandboxIdAnnotation] = pod.id;
  in.annotations["io.kubernetes.cri.sandbox-name"] = pod.config.metadata.name;
  in.annotations["io.kubernetes.cri.sandbox-namespace"] = pod.config.metadata.ns;
  in.annotations["io.kubernetes.cri.sandbox-uid"] = pod.config.metadata.uid;
  in.annotations["io.kubernetes.cri.container-name"] = cc.name;
  in.annotations["io.kubernetes.cri.image-name"] = cc.image;
  if (!cc.privileged) {
    std::string profile;
    if (seccomp.kind == security::SeccompKind::Localhost) {
      auto text = sys::readFile(seccomp.localhostPath);
      if (!text)
        return fail(Code::InvalidArgument, "seccomp profile " + seccomp.localhostPath + ": " + text.error().message());
      profile = *text;
    }
    in.seccomp = TRY(security::seccompFor(seccomp, profile, in.capabilities));
  }
  in.maskedPaths = cc.maskedPaths;
  in.readonlyPaths = cc.readonlyPaths;
  in.resources = enforced;

  TRY(sys::mkdirAll(c.bundle, 0700));
  undo.push([bundle = c.bundle] {
    std::error_code ec;
    fs::remove_all(bundle, ec);
  });
  nlohmann::json config = spec::buildContainerSpec(in);
  TRY(applyHandlerRules(cfg_, runtimes_, pod.handler, config));
  TRY(sys::writeFileAtomic(c.bundle + "/config.json", config.dump(2), 0600));
  if (!pod.config.logDirectory.empty() && !cc.logPath.empty()) {
    c.logPath = pod.config.logDirectory + "/" + cc.logPath;
    TRY(sys::mkdirAll(fs::path(c.logPath).parent_path().string(), 0755));
  }
  TRY(faultPoint("ctr-after-bundle"));
  auto created = runtime->create(
      {c.id, c.bundle, c.logPath.empty() ? c.bundle + "/ctr.log" : c.logPath, cc.tty, cc.stdin, cc.stdinOnce});
  // The container holds its own copies of the idmapped volumes now.
  if (auto dropped = storage::dropVolumeMaps(containersDir, c.id); !dropped)
    log::warn("cannot drop idmapped volume mounts", {{"container", c.id}, {"error", dropped.error().message()}});
  c.pid = TRY(std::move(created));
  // conmon writes the exit file and leaves its attach link only after the
  // killed container is gone: undone as recovery undoes a half-made one.
  undo.push([this, c] {
    if (auto r = undoCreate(c); !r)
      log::warn("rollback: cannot remove container", {{"container", c.id}, {"error", r.error().message()}});
  });
  TRY(faultPoint("ctr-after-runtime-create"));
  TRY(persist(c));
  TRY(faultPoint("ctr-after-persist"));
  {
    std::lock_guard lock(mu_);
    containers_[c.id] = c;
  }
  undo.commit();
  log::info("container created", {{"container", c.name}, {"id", c.id}, {"pod", pod.id}});
  publish(c, EventType::Created);
  return c.id;
}

Result<std::string> ContainerManager::resolveId(const std::string& idOrPrefix) const {
  std::lock_guard lock(mu_);
  return resolveIdPrefix(containers_, idOrPrefix, "container");
}

void ContainerManager::refresh(Container& c) {
  if (c.state != ContainerState::Running && c.state != ContainerState::Created) return;
  auto runtime = runtimes_.get(c.handler);
  if (!runtime) return;
  auto code = (*runtime)->exitCode(c.id);
  if (!code || !*code) return;
  c.state = ContainerState::Exited;
  c.exitCode = **code;
  struct stat st {};
  c.finishedAt = ::stat((cfg_.stateDir + "/exits/" + c.id).c_str(), &st) == 0
                     ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec
                     : nowNs();
  c.reason = c.exitCode == 0 ? "Completed" : "Error";
  // The cgroup lives until `runc delete`, so the OOM killer's count is still there.
  if (auto usage = cgroups::readStats(c.cgroupsPath); usage && usage->oomKilled) c.reason = "OOMKilled";
  (void)persist(c);
  publish(c, EventType::Stopped);
}

void ContainerManager::publish(const Container& c, EventType type) {
  if (events_) events_->publish({c.id, c.podId, type, nowNs()});
}

void ContainerManager::onExit(const std::string& id) {
  std::lock_guard lock(mu_);
  if (id.empty()) {
    refreshAll();
  } else if (auto it = containers_.find(id); it != containers_.end()) {
    refresh(it->second);
  }
}

void ContainerManager::exitsWatched() {
  std::lock_guard lock(mu_);
  refreshAll();
  exitsWatched_ = true;
}

void ContainerManager::refreshAll() {
  for (auto& [_, c] : containers_) refresh(c);
}

Result<Container> ContainerManager::get(const std::string& idOrPrefix) {
  auto id = TRY(resolveId(idOrPrefix));
  std::lock_guard lock(mu_);
  auto& c = containers_.at(id);
  refresh(c);
  return c;
}

void ContainerManager::visit(const ContainerFilter& f, const std::function<void(const Container&)>& fn) {
  std::lock_guard lock(mu_);
  std::vector<const Container*> selected;
  for (auto& [id, c] : containers_) {
    if (!exitsWatched_) refresh(c);
    if (!f.idPrefix.empty() && !id.starts_with(f.idPrefix)) continue;
    if (!f.podId.empty() && c.podId != f.podId) continue;
    if (f.state && c.state != *f.state) continue;
    bool match = true;
    for (const auto& [k, v] : f.labels) {
      auto it = c.config.labels.find(k);
      if (it == c.config.labels.end() || it->second != v) match = false;
    }
    if (match) selected.push_back(&c);
  }
  std::sort(selected.begin(), selected.end(), [](const auto* a, const auto* b) { return a->createdAt < b->createdAt; });
  for (const auto* c : selected) fn(*c);
}

std::vector<Container> ContainerManager::list(const ContainerFilter& f) {
  std::vector<Container> out;
  visit(f, [&](const Container& c) { out.push_back(c); });
  return out;
}

Result<> ContainerManager::start(const std::string& idOrPrefix) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Created)
    return fail(Code::FailedPrecondition, "container " + c.id + " is " + stateName(c.state) + ", not created");
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  int64_t started = nowNs();  // before: a short-lived process may exit before start returns
  TRY(runtime->start(c.id));
  TRY(faultPoint("start-after-runtime"));
  c.state = ContainerState::Running;
  c.startedAt = started;
  TRY(persist(c));
  TRY(faultPoint("start-after-persist"));
  std::lock_guard lock(mu_);
  auto& stored = containers_[c.id];
  // The exit monitor may have seen it exit already: keep that.
  if (stored.state == ContainerState::Exited) {
    stored.startedAt = started;
    return persist(stored);
  }
  stored = c;
  publish(c, EventType::Started);
  return {};
}

Result<> ContainerManager::stop(const std::string& idOrPrefix, std::chrono::seconds timeout) {
  auto id = resolveId(idOrPrefix);
  if (!id) return id.error().code() == Code::NotFound ? Result<>{} : fail(id.error());
  Container c = TRY(get(*id));
  if (c.state == ContainerState::Exited) return {};
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  auto waitExit = [&](std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto code = runtime->exitCode(c.id);
      if (code && *code) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  if (c.state == ContainerState::Running && timeout.count() > 0) {
    (void)runtime->kill(c.id, SIGTERM);
    if (waitExit(timeout)) {
      std::lock_guard lock(mu_);
      refresh(containers_[c.id]);
      return {};
    }
  }
  (void)runtime->kill(c.id, SIGKILL);
  if (c.state == ContainerState::Created) {
    // Never started: nothing to wait for but the runtime's own state.
    TRY(runtime->remove(c.id, true));
  } else if (!waitExit(std::chrono::seconds(10))) {
    return fail(Code::DeadlineExceeded, "container " + c.id + " did not exit after SIGKILL");
  }
  std::lock_guard lock(mu_);
  auto& stored = containers_[c.id];
  refresh(stored);
  if (stored.state != ContainerState::Exited) {
    stored.state = ContainerState::Exited;
    stored.exitCode = 137;
    stored.reason = "Error";
    stored.finishedAt = nowNs();
    (void)persist(stored);
    publish(stored, EventType::Stopped);
  }
  return {};
}

Result<> ContainerManager::remove(const std::string& idOrPrefix) {
  auto id = resolveId(idOrPrefix);
  if (!id) return id.error().code() == Code::NotFound ? Result<>{} : fail(id.error());
  TRY(stop(*id, std::chrono::seconds(0)));
  Container c = TRY(get(*id));
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  TRY(runtime->remove(c.id, true));
  ::unlink((cfg_.stateDir + "/exits/" + c.id).c_str());
  TRY(storage::removeContainerDir(cfg_.root + "/containers", c.id));
  std::error_code ec;
  fs::remove_all(c.bundle, ec);
  fs::remove_all(cfg_.stateDir + "/attach/" + c.id, ec);  // conmon's, left when it exits
  TRY(db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(c.id).map([](bool) {}); }));
  {
    std::lock_guard lock(mu_);
    containers_.erase(c.id);
    names_.erase(c.name);
  }
  log::info("container removed", {{"container", c.name}, {"id", c.id}});
  publish(c, EventType::Deleted);
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
  Container c = TRY(get(idOrPrefix));
  ContainerStats out;
  out.container = c;
  out.timestamp = nowNs();
  if (c.state == ContainerState::Running) {
    if (auto st = cgroups::readStats(c.cgroupsPath)) out.cgroup = *st;
  }
  auto upper = storage::diskUsage(cfg_.root + "/containers/" + c.id + "/upper");
  out.writableBytes = upper.bytes;
  out.writableInodes = upper.inodes;
  return out;
}

Result<> ContainerManager::updateResources(const std::string& idOrPrefix, const spec::Resources& r) {
  Container c = TRY(get(idOrPrefix));
  if (c.state != ContainerState::Created && c.state != ContainerState::Running)
    return fail(Code::FailedPrecondition, "container " + c.id + " is " + stateName(c.state));
  oci::OciRuntime* runtime = TRY(runtimes_.get(c.handler));
  spec::Resources enforced = r;
  auto dropped = TRY(dropUnenforceable(enforced, controllers_, cfg_.tolerateMissingHugetlb));
  TRY(runtime->update(c.id, spec::resourcesJson(enforced).dump()));
  std::lock_guard lock(mu_);
  auto& stored = containers_.at(c.id);
  stored.config.resources = r;
  stored.droppedLimits = dropped;
  return persist(stored);
}

Result<PodStats> ContainerManager::podStats(const std::string& podId) {
  PodStats out;
  out.pod = TRY(pods_.get(podId));
  out.timestamp = nowNs();
  for (const auto& c : list({.podId = out.pod.id})) {
    auto st = stats(c.id);
    if (!st) continue;
    out.cgroup.cpuUsageNs += st->cgroup.cpuUsageNs;
    out.cgroup.memoryUsage += st->cgroup.memoryUsage;
    out.cgroup.memoryWorkingSet += st->cgroup.memoryWorkingSet;
    out.cgroup.memoryRss += st->cgroup.memoryRss;
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
  std::lock_guard lock(mu_);
  std::set<std::string> chains;
  for (const auto& [id, c] : containers_) chains.insert(c.chainIds.begin(), c.chainIds.end());
  return chains;
}

Result<> ContainerManager::forPod(const std::string& podId, bool removeToo) {
  ContainerFilter f;
  f.podId = podId;
  for (const auto& c : list(f)) {
    TRY(stop(c.id, std::chrono::seconds(0)));
    if (removeToo) TRY(remove(c.id));
  }
  return {};
}

}  // namespace crix::lifecycle
