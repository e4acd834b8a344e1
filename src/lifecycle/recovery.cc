#include "lifecycle/recovery.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "cgroups/cleanup.h"
#include "cgroups/paths.h"
#include "common/log.h"
#include "common/parse.h"
#include "lifecycle/conmon_process.h"
#include "lifecycle/pod_files.h"
#include "network/netns.h"
#include "storage/rootfs.h"
#include "sys/fs.h"
#include "sys/namespaces.h"
#include "sys/process.h"

namespace crix::lifecycle {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  return out;
}

// A pod or container id: 64 lower-case hex digits.
bool isId(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The first path component that is an id, or "".
std::string idIn(const std::string& path) {
  for (const auto& part : fs::path(path))
    if (isId(part.string())) return part.string();
  return "";
}

// Mount points (from /proc/self/mountinfo) that start with one of `prefixes`.
std::vector<std::string> mountPointsUnder(const std::vector<std::string>& prefixes) {
  std::vector<std::string> out;
  auto info = sys::readFile("/proc/self/mountinfo");
  if (!info) return out;
  std::istringstream lines(*info);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    // The kernel escapes space, tab, newline and backslash as \ooo.
    std::string unescaped;
    for (size_t i = 0; i < point.size(); ++i) {
      auto octal =
          point[i] == '\\' && i + 3 < point.size() ? parseNumber<int>(point.substr(i + 1, 3), 8) : std::nullopt;
      if (octal) {
        unescaped += static_cast<char>(*octal);
        i += 3;
      } else {
        unescaped += point[i];
      }
    }
    for (const auto& p : prefixes)
      if (unescaped.starts_with(p)) out.push_back(unescaped);
  }
  return out;
}

bool isTemp(const std::string& name) {
  return name.find(".tmp.") != std::string::npos;
}

void removed(const char* what, const std::string& object) {
  log::info("removed orphan", {{"kind", what}, {"object", object}});
}

void failed(const char* what, const std::string& object, const Error& e) {
  log::warn("cannot remove orphan", {{"kind", what}, {"object", object}, {"error", e.message()}});
}

}  // namespace

int killStrayHelpers(const config::Config& cfg) {
  std::vector<std::string> roots;
  for (const auto& [name, h] : cfg.runtimes) roots.push_back("--root=" + cfg.runtimeRoot(name));
  const Paths paths = cfg.paths();
  int killed = 0;
  for (int pid : sys::listPids()) {
    if (pid == ::getpid()) continue;
    auto args = sys::processArgs(pid);
    if (args.empty() || isConmon(args)) continue;
    bool ours = std::any_of(args.begin(), args.end(), [&](const std::string& a) {
      return std::find(roots.begin(), roots.end(), a) != roots.end();
    });
    if (!ours) {
      for (const auto& e : sys::processEnviron(pid)) {
        if (!e.starts_with("CNI_CONTAINERID=")) continue;
        std::string id = e.substr(16);
        struct stat st {};
        ours = isId(id) && ::stat(paths.cniAttachment(id).c_str(), &st) == 0;
        break;
      }
    }
    if (!ours) continue;
    sys::killTree(pid);
    ++killed;
    log::info("killed stray helper", {{"pid", pid}, {"command", args[0]}});
  }
  return killed;
}

int sweepOrphans(const config::Config& cfg, network::NetworkPlugin& net, Runtimes& runtimes,
                 const KnownObjects& known) {
  auto isKnown = [&](const std::string& id) { return known.pods.count(id) || known.containers.count(id); };
  std::set<std::string> seen;  // unknown ids found in crix's own directories
  int count = 0;

  // Runtime state: delete --force also kills what runs and removes the cgroup.
  for (const auto& [handler, h] : cfg.runtimes) {
    auto runtime = runtimes.get(handler);
    if (!runtime) continue;
    for (const auto& id : entries(cfg.runtimeRoot(handler))) {
      if (isKnown(id)) continue;
      seen.insert(id);
      if (auto r = (*runtime)->remove(id, true); !r) {
        failed("runtime state", id, r.error());
        continue;
      }
      removed("runtime state", handler + "/" + id);
      ++count;
    }
  }

  // Monitors of containers without a row. Those whose container was just
  // deleted exit by themselves after reaping it; the rest are killed.
  const Paths paths = cfg.paths();
  std::string exitDir = paths.exitsDir();
  auto strayMonitors = [&] {
    std::map<int, std::string> found;  // pid → container id
    for (int pid : sys::listPids()) {
      auto args = sys::processArgs(pid);
      if (!isConmon(args) || argAfter(args, "--exit-dir") != exitDir) continue;
      std::string id = argAfter(args, "-c");
      if (!id.empty() && !isKnown(id)) found[pid] = id;
    }
    return found;
  };
  auto monitors = strayMonitors();
  for (int i = 0; i < 100 && !monitors.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    monitors = strayMonitors();
  }
  for (const auto& [pid, id] : monitors) {
    seen.insert(id);
    ::kill(pid, SIGKILL);
    removed("conmon", std::to_string(pid) + " " + id);
    ++count;
  }

  // CNI attachments before the netns pins, so that DEL still finds the interface.
  std::string cniDir = paths.cniCacheDir();
  for (const auto& name : entries(cniDir)) {
    if (isTemp(name)) {
      ::unlink((cniDir + "/" + name).c_str());
      continue;
    }
    if (!name.ends_with(".json")) continue;
    std::string id = name.substr(0, name.size() - 5);
    if (known.networked.count(id)) continue;
    if (auto r = net.del(id); !r) {
      failed("CNI attachment", id, r.error());
      continue;
    }
    removed("CNI attachment", id);
    ++count;
  }
  // Pinned namespaces of pods without a row (a stopped pod has none left).
  using PinOf = std::string (Paths::*)(std::string_view) const;
  struct PinKind {
    const char* kind;
    std::string dir;
    PinOf pinOf;
  };
  for (const auto& [kind, dir, pinOf] :
       {PinKind{"userns", paths.usernsDir(), &Paths::podUserns}, PinKind{"ipcns", paths.ipcnsDir(), &Paths::podIpcns},
        PinKind{"utsns", paths.utsnsDir(), &Paths::podUtsns}}) {
    for (const auto& id : entries(dir)) {
      if (isKnown(id) || isTemp(id)) continue;
      std::string pin = (paths.*pinOf)(id);
      if (auto r = sys::unpinNamespace(pin); !r) {
        failed(kind, id, r.error());
        continue;
      }
      removed(kind, pin);
      ++count;
    }
  }
  for (const auto& id : entries(paths.netnsDir())) {
    if (known.networked.count(id)) continue;
    if (auto r = network::removeNetns(paths.podNetns(id)); !r) {
      failed("netns", id, r.error());
      continue;
    }
    removed("netns", paths.podNetns(id));
    ++count;
  }

  // Mount points of no known object, deepest first: runc's own bind mounts
  // under its state directory (left when `runc create` was killed), and any
  // rootfs, shm or netns pin that the steps below would trip over.
  std::vector<std::pair<std::string, std::string>> mounts;  // mount point, id
  // (prefixes of the two roots, not paths of objects)
  for (const auto& mp : mountPointsUnder({paths.root() + "/", paths.stateDir() + "/"})) {
    std::string id =
        idIn(mp.substr(mp.starts_with(paths.root() + "/") ? paths.root().size() : paths.stateDir().size()));
    if (!id.empty() && !isKnown(id)) mounts.emplace_back(mp, id);
  }
  std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [mp, id] : mounts) {
    seen.insert(id);
    if (::umount2(mp.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      failed("mount", mp, Error::fromErrno("unmount", errno));
      continue;
    }
    removed("mount", mp);
    ++count;
  }
  for (const auto& [handler, h] : cfg.runtimes) {
    for (const auto& id : entries(cfg.runtimeRoot(handler))) {
      if (isKnown(id)) continue;
      std::error_code ec;
      fs::remove_all(cfg.runtimeRoot(handler) + "/" + id, ec);  // what delete left, now unmounted
    }
  }

  for (const auto& dir :
       {paths.containersDir(), paths.bundlesDir(), paths.podsDir(), paths.netnsDir(), exitDir, paths.attachDir()})
    for (const auto& name : entries(dir))
      if (!isTemp(name) && !isKnown(name)) seen.insert(name);
  for (const auto& name : entries(paths.cniCacheDir()))
    if (name.ends_with(".json") && !isKnown(name.substr(0, name.size() - 5)))
      seen.insert(name.substr(0, name.size() - 5));

  // Cgroups of those ids, under the default parent (pods with their own
  // parent keep their cgroups in their rows; their containers are undone there).
  if (cgroups::driverNamed(cfg.cgroupDriver) == cgroups::Driver::Cgroupfs) {
    for (const auto& id : seen) {
      std::string path = cgroups::runtimeCgroupsPath(cgroups::Driver::Cgroupfs, "", id);
      auto gone = cgroups::destroyCgroup(path);
      if (!gone)
        failed("cgroup", id, gone.error());
      else if (*gone) {
        removed("cgroup", path);
        ++count;
      }
    }
  }

  // Root filesystems (infra containers' carry the pod's id).
  for (const auto& id : entries(paths.containersDir())) {
    if (isKnown(id)) continue;
    if (auto r = storage::removeContainerDir(paths, id); !r) {
      failed("rootfs", id, r.error());
      continue;
    }
    removed("rootfs", paths.containerDir(id));
    ++count;
  }

  // Bundles and pod directories.
  for (const auto& dir : {paths.bundlesDir(), paths.podsDir()}) {
    for (const auto& id : entries(dir)) {
      if (isKnown(id)) continue;
      std::string path = dir + "/" + id;
      if (dir == paths.podsDir()) (void)unmountShm(paths.podShm(id));
      std::error_code ec;
      fs::remove_all(path, ec);
      if (ec) {
        failed("directory", path, Error(Code::Internal, ec.message()));
        continue;
      }
      removed("directory", path);
      ++count;
    }
  }

  // Files: exit codes and attach sockets of nothing, exec pid files (no exec
  // runs before serving), temp files of interrupted atomic writes.
  for (const auto& dir : {exitDir, paths.attachDir()}) {
    for (const auto& id : entries(dir)) {
      if (isKnown(id) && !isTemp(id)) continue;
      std::error_code ec;
      fs::remove_all(dir + "/" + id, ec);
      removed("file", dir + "/" + id);
      ++count;
    }
  }
  for (const auto& name : entries(paths.execDir())) {
    ::unlink((paths.execDir() + "/" + name).c_str());
    removed("file", paths.execDir() + "/" + name);
    ++count;
  }
  return count;
}

}  // namespace crix::lifecycle
