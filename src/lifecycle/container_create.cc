// ContainerManager::create: CreateContainer, step by step (container_manager.h).
#include "lifecycle/container_manager.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "cgroups/cleanup.h"
#include "cgroups/stats.h"
#include "common/fault.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/parse.h"
#include "lifecycle/conmon_process.h"
#include "lifecycle/container_spec_input.h"
#include "lifecycle/enforceable.h"
#include "lifecycle/rollback.h"
#include "security/lsm.h"
#include "security/seccomp.h"
#include "spec/cdi.h"
#include "spec/container_spec.h"
#include "spec/gvisor_mounts.h"
#include "spec/handler_spec.h"
#include "spec/user.h"
#include "storage/copy_up.h"
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

// The host's node at `path` as a spec device node (type, numbers, mode);
// `what` names it in the error when it is missing or not a device.
Result<spec::DeviceNode> hostDeviceNode(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Code::InvalidArgument, what + " does not exist");
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return fail(Code::InvalidArgument, what + " is not a device");
  spec::DeviceNode n;
  n.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
  n.major = static_cast<int64_t>(major(st.st_rdev));
  n.minor = static_cast<int64_t>(minor(st.st_rdev));
  n.fileMode = st.st_mode & 07777;
  return n;
}

// A bind mount's source must exist on the host; `what` names the mount.
Result<> requireSource(const std::string& hostPath, const std::string& what) {
  struct stat st {};
  if (::stat(hostPath.c_str(), &st) != 0) return fail(Code::InvalidArgument, what + " does not exist");
  return {};
}

// The CRI devices as nodes: each host path must be a device.
Result<std::vector<spec::DeviceNode>> deviceNodes(const std::vector<ContainerConfig::Device>& devices) {
  std::vector<spec::DeviceNode> out;
  for (const auto& d : devices) {
    auto n = TRY(hostDeviceNode(d.hostPath, "device \"" + d.hostPath + "\""));
    n.access = d.permissions.empty() ? "rwm" : d.permissions;
    if (n.access.find_first_not_of("rwm") != std::string::npos)
      return fail(Code::InvalidArgument, "device permissions \"" + d.permissions + "\": only r, w and m");
    n.path = d.containerPath.empty() ? d.hostPath : d.containerPath;
    if (n.path[0] != '/') return fail(Code::InvalidArgument, "device path \"" + n.path + "\" is not absolute");
    out.push_back(n);
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
  auto hex = status->substr(p + 8, 16);
  uint64_t bits = parseNumber<uint64_t>(hex, 16).value_or(0);
  for (size_t i = 0; i < capNames().size(); ++i)
    if (bits & (uint64_t{1} << i)) out.push_back(capNames()[i]);
  return out;
}

const std::vector<std::string>& ownCapabilities() {
  static const std::vector<std::string> caps = readOwnCapabilities();
  return caps;
}

// The CDI spec files in the configured directories, in rising priority;
// the names of those crix cannot read (YAML) go to `unread`.
std::vector<spec::CdiSpecFile> readCdiSpecs(const std::vector<std::string>& dirs, std::vector<std::string>& unread) {
  std::vector<spec::CdiSpecFile> out;
  for (size_t i = 0; i < dirs.size(); ++i) {
    std::error_code ec;
    std::vector<fs::path> names;
    for (const auto& e : fs::directory_iterator(dirs[i], ec))
      if (e.is_regular_file(ec)) names.push_back(e.path());
    std::sort(names.begin(), names.end());
    for (const auto& p : names) {
      if (p.extension() == ".yaml" || p.extension() == ".yml") {
        unread.push_back(p.string());
      } else if (p.extension() == ".json") {
        auto text = sys::readFile(p.string());
        if (text)
          out.push_back({p.string(), std::move(*text), static_cast<int>(i)});
        else
          unread.push_back(p.string() + " (" + text.error().message() + ")");
      }
    }
  }
  return out;
}

// A CDI device node as the spec takes it: numbers and type the spec leaves
// out come from the host's node.
Result<spec::DeviceNode> cdiDeviceNode(const spec::CdiDeviceNode& d) {
  spec::DeviceNode n;
  if (!d.type || !d.major || !d.minor) {
    std::string host = d.hostPath.empty() ? d.path : d.hostPath;
    n = TRY(hostDeviceNode(host, "CDI device node " + d.path + ": " + host));
  }
  n.path = d.path;
  n.access = d.permissions.empty() ? "rwm" : d.permissions;
  if (d.type) n.type = *d.type;
  if (d.major) n.major = *d.major;
  if (d.minor) n.minor = *d.minor;
  if (d.fileMode) n.fileMode = *d.fileMode & 07777;
  n.uid = d.uid.value_or(0);
  n.gid = d.gid.value_or(0);
  return n;
}

// Where an image volume's files come from: the mounted image, or the
// directory image_sub_path names in it, which may not lead out of it.
Result<std::string> volumeImageSource(const std::string& mounted, const spec::Mount& m) {
  if (m.imageSubPath.empty()) return mounted;
  std::string what = "image volume " + m.containerPath + ": image_sub_path \"" + m.imageSubPath + "\"";
  std::error_code ec;
  auto base = fs::canonical(mounted, ec);
  if (ec) return fail(Code::Internal, "image volume " + m.containerPath + ": " + mounted + ": " + ec.message());
  auto path = fs::canonical(base / m.imageSubPath, ec);
  if (ec) return fail(Code::InvalidArgument, what + " is not in image " + m.image);
  auto rel = path.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    return fail(Code::InvalidArgument, what + " leads out of the image (through a symlink)");
  return path.string();
}

// The CRI's rules for a recursive read-only mount, then the handler's say.
Result<> checkRecursiveReadOnly(const spec::Mount& m, const Runtimes& runtimes, const std::string& handler) {
  if (!m.recursiveReadOnly) return {};
  std::string what = "mount " + m.containerPath + ": recursive_read_only ";
  if (!m.readonly) return fail(Code::InvalidArgument, what + "needs readonly");
  if (m.propagation != "rprivate")
    return fail(Code::InvalidArgument,
                what + "needs private propagation (a submount arriving later would be writable)");
  return runtimes.recursiveReadOnly(handler);
}

}  // namespace

Result<std::string> ContainerManager::create(const std::string& podId, const ContainerConfig& cc,
                                             const ClientGone& gone) {
  // The pod's name parts make the container's name; a retry of this call
  // (same pod, same metadata) joins the one running.
  Sandbox pod = TRY(pods_.get(podId));
  std::string name = containerName(cc, pod.config.metadata.name, pod.config.metadata.ns, pod.config.metadata.uid);
  return runOrJoin(creating_, name, gone,
                   [&](const ClientGone& abandoned) { return createNow(pod.id, cc, abandoned); });
}

Result<std::string> ContainerManager::createNow(const std::string& podId, const ContainerConfig& cc,
                                                const ClientGone& abandoned) {
  auto hold = TRY(pods_.hold(podId));
  const Sandbox& pod = hold.pod;
  if (pod.state != SandboxState::Ready)
    return fail(Code::FailedPrecondition, "pod " + pod.id + " is not ready; cannot create containers in it");
  if (cc.name.empty()) return fail(Code::InvalidArgument, "container metadata needs a name");
  if (cc.runAsGroup && !cc.runAsUser && cc.runAsUsername.empty())
    return fail(Code::InvalidArgument, "run_as_group needs run_as_user or run_as_username");
  if (cc.privileged && !pod.config.privileged)
    return fail(Code::InvalidArgument, "container " + cc.name + " is privileged but its pod is not");
  if (cc.logPath.find("..") != std::string::npos || (!cc.logPath.empty() && cc.logPath[0] == '/'))
    return fail(Code::InvalidArgument, "log_path \"" + cc.logPath + "\" must stay inside the pod's log directory");
  // Image volumes name images present: pulled by the kubelet beforehand.
  std::vector<image::Image> volumeImages;
  for (const auto& m : cc.mounts) {
    if (m.containerPath.empty() || m.containerPath[0] != '/')
      return fail(Code::InvalidArgument, "mount destination \"" + m.containerPath + "\" is not an absolute path");
    if (m.image.empty()) {
      if (!m.imageSubPath.empty())
        return fail(Code::InvalidArgument, "mount " + m.containerPath + ": image_sub_path needs an image");
      TRY(requireSource(m.hostPath, "mount source \"" + m.hostPath + "\""));
      TRY(checkRecursiveReadOnly(m, runtimes_, pod.handler));
      continue;
    }
    std::string what = "image volume " + m.containerPath;
    auto vi = images_.find(m.image);
    if (!vi) return fail(Code::NotFound, what + ": image \"" + m.image + "\" is not present; pull it first");
    if (fs::path(m.imageSubPath).is_absolute())
      return fail(Code::InvalidArgument, what + ": image_sub_path \"" + m.imageSubPath + "\" is not relative");
    if (!pod.usernsPath.empty())
      return fail(Code::FailedPrecondition,
                  what + ": crix cannot yet mount image volumes in a pod with a user namespace of its own");
    volumeImages.push_back(std::move(*vi));
  }
  TRY(security::checkLsm({cc.apparmorProfile, cc.selinuxLabel}, security::hostLsm(), "container " + cc.name));
  auto devices = TRY(deviceNodes(cc.devices));
  // CDI devices resolve before anything is made: an unknown one is refused.
  spec::CdiEdits cdi;
  if (!cc.cdiDevices.empty()) {
    std::vector<std::string> unread;
    auto specs = readCdiSpecs(cfg_.cdiSpecDirs, unread);
    cdi = TRY(spec::resolveCdiDevices(cc.cdiDevices, specs, unread));
    for (const auto& d : cdi.deviceNodes) devices.push_back(TRY(cdiDeviceNode(d)));
    for (const auto& m : cdi.mounts) TRY(requireSource(m.hostPath, "CDI mount " + m.containerPath + ": " + m.hostPath));
  }
  spec::Resources enforced = cc.resources;
  auto droppedLimits = TRY(dropUnenforceable(enforced, controllers_, cfg_.tolerateMissingHugetlb));
  auto seccomp = TRY(security::parseSeccompPath(cc.seccompProfile));
  auto img = images_.find(cc.image);
  if (!img) return fail(Code::NotFound, "image \"" + cc.image + "\" is not present; pull it first");
  int stopSignal = TRY(stopSignalFor(cc, img->parsed));
  oci::OciRuntime* runtime = TRY(runtimes_.get(pod.handler));

  Container c;
  c.id = newId();
  c.podId = pod.id;
  c.config = cc;
  for (auto& m : c.config.mounts) {
    if (m.image.empty()) continue;
    m.readonly = true;  // as mounted, whatever was asked
    m.propagation = "rprivate";
  }
  c.imageId = img->id;
  c.imageRef = image::imageRefFor(*img, cc.image);
  c.chainIds = img->chainIds;
  c.handler = pod.handler;
  c.createdAt = nowNs();
  c.name = containerName(cc, pod.config.metadata.name, pod.config.metadata.ns, pod.config.metadata.uid);
  c.droppedLimits = droppedLimits;
  c.stopSignal = stopSignal;
  for (const auto& vi : volumeImages) {
    c.volumeImageIds.push_back(vi.id);
    c.volumeChainIds.insert(c.volumeChainIds.end(), vi.chainIds.begin(), vi.chainIds.end());
  }
  if (!droppedLimits.empty()) {
    std::string lines;
    for (const auto& d : droppedLimits) lines += (lines.empty() ? "" : "; ") + d;
    log::debug("limits the host cannot enforce left out", {{"container", c.name}, {"limits", lines}});
  }
  Rollback undo;
  TRY(store_.reserve(c.name, c.id));
  undo.push([this, name = c.name, id = c.id] { store_.unreserve(name, id); });
  // Intent before effect: the row names the rootfs, bundle, conmon and
  // runtime state the next steps make (all keyed by the id).
  c.bundle = paths_.containerBundle(c.id);
  c.cgroupsPath = cgroupsPathFor(cfg_, pod.config.cgroupParent, c.id);
  TRY(persist(c, kRecordCreating));
  undo.push([this, id = c.id] {
    auto r = db_.write([&](store::Tables& t) -> Result<> { return t.deleteContainer(id).map([](bool) {}); });
    if (!r) log::warn("rollback: cannot delete container row", {{"container", id}, {"error", r.error().message()}});
  });
  TRY(checkpoint("ctr-after-intent", abandoned));

  std::vector<std::string> lowers;
  for (auto it = img->chainIds.rbegin(); it != img->chainIds.rend(); ++it) lowers.push_back(layers_.diffPath(*it));
  auto idmap = podIdMappedLayers(pod);
  std::string rootfs = TRY(host_.mountRootfs(c.id, lowers, idmap ? &*idmap : nullptr));
  undo.push([this, id = c.id] { (void)host_.removeContainerDir(id); });
  TRY(checkpoint("ctr-after-rootfs", abandoned));

  // What the mapping needs from the host: the user in the container's own
  // files, the volumes as the runtime will see them, a Localhost profile.
  HostFacts host;
  host.rootfs = rootfs;
  auto passwd = sys::readFile(rootfs + "/etc/passwd");
  auto group = sys::readFile(rootfs + "/etc/group");
  host.user = TRY(spec::resolveUser(requestedUser(cc, img->parsed), passwd ? *passwd : "", group ? *group : ""));
  size_t volumeImage = 0;
  for (auto m : cc.mounts) {
    if (!m.image.empty()) {
      // Read-only, and never propagating: the image's files as they are.
      const auto& vi = volumeImages[volumeImage];
      std::vector<std::string> layers;
      for (auto it = vi.chainIds.rbegin(); it != vi.chainIds.rend(); ++it) layers.push_back(layers_.diffPath(*it));
      std::string at = TRY_CTX(host_.mountVolumeImage(c.id, volumeImage++, layers), "image volume " + m.containerPath);
      m.hostPath = TRY(volumeImageSource(at, m));
      m.readonly = true;
      m.propagation = "rprivate";
      m.options = {"nosuid", "nodev"};
      host.volumes.push_back(m);
      continue;
    }
    // In a pod with its own user namespace, volumes are seen through it
    // (the runtime's bind mount of an idmapped mount keeps the mapping).
    if (!pod.usernsPath.empty()) {
      std::string at = paths_.containerVolumeMap(c.id, host.volumes.size());
      TRY_CTX(storage::mountIdMapped(m.hostPath, at, pod.usernsPath), "volume " + m.containerPath);
      m.hostPath = at;
    }
    host.volumes.push_back(m);
  }
  if (cfg_.imageVolumes == "mkdir") {
    int n = 0;
    for (const auto& v : imageVolumesToMake(cc, img->parsed)) {
      std::string dir = paths_.containerImageVolume(c.id, n++);
      TRY(sys::mkdirAll(dir, 0755));
      // With what the image holds there, owned like the image's directory.
      TRY(storage::copyUp(rootfs, v, dir));
      host.imageVolumes.push_back({v, dir, false, "rprivate"});
    }
  }
  host.devices = devices;
  cdi.deviceNodes.clear();  // in host.devices above
  host.cdi = std::move(cdi);
  host.ownCapabilities = ownCapabilities();
  host.ownOomScoreAdj = clampOomScoreAdj(-1000);
  host.seccomp = seccomp;
  if (!cc.privileged && seccomp.kind == security::SeccompKind::Localhost) {
    auto text = sys::readFile(seccomp.localhostPath);
    if (!text)
      return fail(Code::InvalidArgument, "seccomp profile " + seccomp.localhostPath + ": " + text.error().message());
    host.seccompText = *text;
  }
  host.resources = enforced;
  host.cgroupsPath = c.cgroupsPath;
  host.hostname = podHostname(pod.config);
  host.paths = paths_;
  auto in = TRY(containerSpecInput(cc, img->parsed, pod, cfg_.runtimes.at(pod.handler), host));
  c.user = {in.uid, in.gid, in.additionalGids};

  TRY(sys::mkdirAll(c.bundle, 0700));
  undo.push([bundle = c.bundle] {
    std::error_code ec;
    fs::remove_all(bundle, ec);
  });
  nlohmann::json config = spec::buildContainerSpec(in);
  TRY(applyHandlerRules(cfg_, runtimes_, pod.handler, config));
  TRY(sys::writeFileAtomic(Paths::bundleSpec(c.bundle), config.dump(2), 0600));
  if (!pod.config.logDirectory.empty() && !cc.logPath.empty()) {
    c.logPath = pod.config.logDirectory + "/" + cc.logPath;
    TRY(sys::mkdirAll(fs::path(c.logPath).parent_path().string(), 0755));
  }
  TRY(checkpoint("ctr-after-bundle", abandoned));
  auto created = runtime->create(
      {c.id, c.bundle, c.logPath.empty() ? Paths::bundleLog(c.bundle) : c.logPath, cc.tty, cc.stdin, cc.stdinOnce});
  // The container holds its own copies of the idmapped volumes and the
  // image volumes now.
  if (auto dropped = storage::dropCreateMounts(paths_, c.id); !dropped)
    log::warn("cannot drop the volume mounts made for create",
              {{"container", c.id}, {"error", dropped.error().message()}});
  c.pid = TRY(std::move(created));
  // conmon writes the exit file and leaves its attach link only after the
  // killed container is gone: undone as recovery undoes a half-made one.
  undo.push([this, c] {
    if (auto r = undoCreate(c); !r)
      log::warn("rollback: cannot remove container", {{"container", c.id}, {"error", r.error().message()}});
  });
  TRY(checkpoint("ctr-after-runtime-create", abandoned));
  TRY(persist(c));
  TRY(checkpoint("ctr-after-persist", abandoned));
  store_.add(std::make_shared<ContainerEntry>(c));
  undo.commit();
  log::info("container created", {{"container", c.name}, {"id", c.id}, {"pod", pod.id}});
  publish(c, EventType::Created);
  return c.id;
}

}  // namespace crix::lifecycle
