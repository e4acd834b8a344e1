#include "lifecycle/infra.h"

#include <glob.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cgroups/cleanup.h"
#include "cgroups/paths.h"
#include "common/fault.h"
#include "common/log.h"
#include "lifecycle/instrumented.h"
#include "spec/gvisor_mounts.h"
#include "spec/handler_spec.h"
#include "spec/sandbox_spec.h"
#include "storage/rootfs.h"
#include "sys/fs.h"

namespace crix::lifecycle {

Result<> applyHandlerRules(const config::Config& cfg, const Runtimes& runtimes, const std::string& handler,
                           nlohmann::json& spec) {
  if (isSandboxed(cfg.runtimes.at(handler))) {
    auto glob = [](const std::string& pattern) {
      std::vector<std::string> out;
      glob_t g{};
      if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
      ::globfree(&g);
      std::sort(out.begin(), out.end());
      return out;
    };
    TRY(spec::rewriteGvisorMountHints(spec, cfg.kubeletPodsDir, glob));
  }
  if (const auto* base = runtimes.baseSpec(handler)) spec = spec::overBaseSpec(*base, spec);
  return {};
}

int clampOomScoreAdj(int wanted) {
  // crixd's own does not change while it runs: read once.
  static const int mine = [] {
    auto own = sys::readFile("/proc/self/oom_score_adj");
    return own ? std::atoi(own->c_str()) : -1000;
  }();
  return std::max(wanted, mine);
}

std::string cgroupsPathFor(const config::Config& cfg, const std::string& cgroupParent, const std::string& id) {
  return cgroups::runtimeCgroupsPath(cgroups::driverNamed(cfg.cgroupDriver), cgroupParent, id);
}

spec::UserNamespace podUserns(const Sandbox& s) {
  spec::UserNamespace u;
  if (s.usernsPath.empty()) return u;
  u.path = s.usernsPath;
  for (const auto& m : s.config.uidMappings) u.uids.push_back({m.containerId, m.hostId, m.length});
  for (const auto& m : s.config.gidMappings) u.gids.push_back({m.containerId, m.hostId, m.length});
  return u;
}

std::optional<storage::IdMappedLayers> podIdMappedLayers(const Sandbox& s) {
  if (s.usernsPath.empty()) return std::nullopt;
  storage::IdMappedLayers l;
  l.usernsPath = s.usernsPath;
  // Validated at RunPodSandbox: the container's root is mapped.
  (void)sys::hostIdOf(s.config.uidMappings, 0, &l.rootUid);
  (void)sys::hostIdOf(s.config.gidMappings, 0, &l.rootGid);
  return l;
}

Result<> Infra::start(Sandbox& s, Rollback& undo) {
  oci::OciRuntime* runtime = TRY(runtimes_.get(s.handler));
  auto img = images_.find(cfg_.pauseImage);
  if (!img) {
    TRY_CTX(images_.pull(cfg_.pauseImage, {}), "pull the pause image");
    img = images_.find(cfg_.pauseImage);
    if (!img) return fail(Code::Internal, "pause image " + cfg_.pauseImage + " vanished after its pull");
  }
  s.startup.lap("pause_image");
  std::vector<std::string> lowers;
  for (auto it = img->chainIds.rbegin(); it != img->chainIds.rend(); ++it) lowers.push_back(layers_.diffPath(*it));
  auto idmap = podIdMappedLayers(s);
  std::string rootfs = TRY(host_.mountRootfs(s.id, lowers, idmap ? &*idmap : nullptr));
  undo.push([this, id = s.id] { (void)host_.removeContainerDir(id); });
  TRY(faultPoint("pod-after-infra-rootfs"));
  s.startup.lap("rootfs");

  spec::SandboxSpecInput in;
  in.id = s.id;
  in.rootfs = rootfs;
  if (!cfg_.pauseCommand.empty()) {
    in.args = {cfg_.pauseCommand};
  } else {
    in.args = img->parsed.entrypoint;
    in.args.insert(in.args.end(), img->parsed.cmd.begin(), img->parsed.cmd.end());
  }
  if (in.args.empty()) return fail(Code::InvalidArgument, "pause image " + cfg_.pauseImage + " has no command");
  in.env = img->parsed.env;
  in.hostname = podHostname(s.config);
  in.netnsPath = s.netnsPath;
  in.userns = podUserns(s);
  in.hostIpc = s.config.ipc == NamespaceMode::Node;
  in.ipcnsPath = s.ipcnsPath;
  in.utsnsPath = s.utsnsPath;
  in.hostPid = s.config.pid == NamespaceMode::Node;
  if (!in.hostIpc) in.shmPath = paths_.podShm(s.id);
  in.cgroupsPath = cgroupsPathFor(cfg_, s.config.cgroupParent, s.id);
  in.oomScoreAdj = clampOomScoreAdj(-998);
  for (const auto& [k, v] : s.config.sysctls)
    if (!k.starts_with("net.")) in.sysctls[k] = v;  // net.* went into the pinned netns already
  const auto& handler = cfg_.runtimes.at(s.handler);
  in.annotations = spec::passedAnnotations(handler.allowedAnnotations, s.config.annotations, {});
  in.annotations[spec::kContainerTypeAnnotation] = "sandbox";
  in.annotations[spec::kSandboxIdAnnotation] = s.id;
  in.annotations["io.kubernetes.cri.sandbox-name"] = s.config.metadata.name;
  in.annotations["io.kubernetes.cri.sandbox-namespace"] = s.config.metadata.ns;
  in.annotations["io.kubernetes.cri.sandbox-uid"] = s.config.metadata.uid;
  if (!s.config.logDirectory.empty()) in.annotations[spec::kSandboxLogDirAnnotation] = s.config.logDirectory;
  nlohmann::json config = spec::buildSandboxSpec(in);
  TRY(applyHandlerRules(cfg_, runtimes_, s.handler, config));
  std::string bundle = paths_.podInfraBundle(s.id);
  TRY(sys::mkdirAll(bundle, 0700));
  TRY(sys::writeFileAtomic(Paths::bundleSpec(bundle), config.dump(2), 0600));
  s.startup.lap("spec");

  int pid = TRY(runtime->create({s.id, bundle, paths_.podInfraLog(s.id), false, false}));
  // Undone as a stop: conmon writes the exit file and leaves its attach
  // link only after the killed container is gone; both go too.
  undo.push([this, made = s, pid]() mutable {
    made.infra = true;
    made.infraPid = pid;
    auto r = stop(made).and_then([&] { return remove(made); });
    if (!r) log::warn("rollback: cannot remove infra container", {{"pod", made.id}, {"error", r.error().message()}});
  });
  TRY(faultPoint("pod-after-infra-create"));
  s.startup.lap("runtime_create");
  if (auto started = runtime->start(s.id); !started) {
    // Say what to do about a runsc that misjudges this kernel's namespaces.
    if (isSandboxed(handler) && started.error().message().find("cannot run with network enabled in root network "
                                                               "namespace") != std::string::npos)
      return fail(started.error().code(),
                  started.error().message() +
                      " (runsc releases before 2023 take any network namespace for the host's on newer kernels: "
                      "they test for /proc/sys/net/core/rmem_default; give handler " +
                      s.handler + " runtime_args = [\"--network=host\"] or install a newer runsc)");
    return fail(started.error());
  }
  s.startup.lap("runtime_start");
  s.infra = true;
  s.infraPid = pid;
  return {};
}

Result<> Infra::stop(const Sandbox& s) {
  if (!s.infra) return {};
  oci::OciRuntime* runtime = TRY(runtimes_.get(s.handler));
  if (s.infraPid == 0) {
    // Caught before the runtime created it (recovery): a runtime process
    // killed mid-create leaves its init in the cgroup and maybe no state.
    (void)runtime->remove(s.id, true);
    if (cfg_.cgroupDriver != "systemd") TRY(host_.destroyCgroup(cgroupsPathFor(cfg_, s.config.cgroupParent, s.id)));
  }
  // The pause process holds no state: it is killed, not asked.
  auto st = runtime->state(s.id);
  if (st && st->status != "stopped") {
    (void)runtime->kill(s.id, SIGKILL);
    for (int i = 0; i < 1000; ++i) {
      auto code = runtime->exitCode(s.id);
      if (code && *code) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  TRY(runtime->remove(s.id, true));
  ::unlink(paths_.exitFile(s.id).c_str());
  ::unlink(paths_.attachLink(s.id).c_str());  // conmon's link to the bundle
  return host_.unmountRootfs(s.id);
}

Result<> Infra::remove(const Sandbox& s) {
  if (!s.infra) return {};
  std::error_code ec;
  std::filesystem::remove_all(paths_.attachLink(s.id), ec);  // conmon's, left when it exits
  return host_.removeContainerDir(s.id);
}

}  // namespace crix::lifecycle
