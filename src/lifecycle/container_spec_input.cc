#include "lifecycle/container_spec_input.h"

#include <algorithm>
#include <csignal>

#include "common/signals.h"
#include "lifecycle/infra.h"
#include "lifecycle/runtimes.h"
#include "spec/gvisor_mounts.h"
#include "spec/handler_spec.h"

namespace crix::lifecycle {
namespace {

bool covered(const ContainerConfig& cc, const std::string& dst) {
  return std::any_of(cc.mounts.begin(), cc.mounts.end(), [&](const auto& m) { return m.containerPath == dst; });
}

}  // namespace

std::string requestedUser(const ContainerConfig& cc, const image::ImageConfig& img) {
  std::string user = img.user;
  if (cc.runAsUser) user = std::to_string(*cc.runAsUser);
  if (!cc.runAsUsername.empty()) user = cc.runAsUsername;
  if (cc.runAsGroup) user = user.substr(0, user.find(':')) + ":" + std::to_string(*cc.runAsGroup);
  return user;
}

std::vector<std::string> imageVolumesToMake(const ContainerConfig& cc, const image::ImageConfig& img) {
  std::vector<std::string> out;
  for (const auto& v : img.volumes)
    if (!v.empty() && v[0] == '/' && !covered(cc, v)) out.push_back(v);
  return out;
}

Result<int> stopSignalFor(const ContainerConfig& cc, const image::ImageConfig& img) {
  if (cc.stopSignal != 0) return cc.stopSignal;
  if (img.stopSignal.empty()) return SIGTERM;
  auto n = signalNumber(img.stopSignal);
  if (!n) return fail(Code::InvalidArgument, "the image's StopSignal \"" + img.stopSignal + "\" is no signal");
  return *n;
}

Result<spec::ContainerSpecInput> containerSpecInput(const ContainerConfig& cc, const image::ImageConfig& img,
                                                    const Sandbox& pod, const config::RuntimeHandler& handler,
                                                    const HostFacts& host) {
  spec::ContainerSpecInput in;
  in.rootfs = host.rootfs;
  in.args = spec::processArgs(cc.command, cc.args, img.entrypoint, img.cmd);
  if (in.args.empty())
    return fail(Code::InvalidArgument, "container " + cc.name + " has no command and its image none");
  in.env =
      spec::mergeEnv(spec::mergeEnv(spec::mergeEnv(img.env, {"HOSTNAME=" + host.hostname}), cc.envs), host.cdi.env);
  in.cwd = cc.workingDir.empty() ? img.workingDir : cc.workingDir;
  in.terminal = cc.tty;
  in.uid = host.user.uid;
  in.gid = host.user.gid;
  // The process's groups are its primary one, the image's groups of its
  // user (unless the policy is Strict), then the config's (setgroups
  // replaces the whole list: without the primary gid, `id` would not show
  // it among the groups).
  in.additionalGids = {in.gid};
  auto addGroup = [&](uint32_t g) {
    if (std::find(in.additionalGids.begin(), in.additionalGids.end(), g) == in.additionalGids.end())
      in.additionalGids.push_back(g);
  };
  if (!cc.strictSupplementalGroups)
    for (auto g : host.user.groups) addGroup(g);
  for (auto g : cc.supplementalGroups) addGroup(static_cast<uint32_t>(g));
  for (auto g : host.cdi.additionalGids) addGroup(g);
  in.hostname = host.hostname;
  in.hostNetwork = pod.config.network == NamespaceMode::Node;
  in.netnsPath = pod.netnsPath;
  in.userns = podUserns(pod);
  in.hostIpc = pod.config.ipc == NamespaceMode::Node;
  // The pod's pinned IPC and UTS namespaces; pods from before crix pinned
  // them share the infra container's IPC, if they have one.
  in.ipcnsPath = in.hostIpc ? "" : pod.ipcnsPath;
  in.utsnsPath = pod.utsnsPath;
  in.hostPid = cc.pidMode == static_cast<int>(NamespaceMode::Node);
  // Under gVisor the sandbox decides the namespaces: the infra's host pid
  // is the sandbox's, not a process whose namespaces a container could join.
  if (pod.infra && pod.infraPid > 0 && !isSandboxed(handler)) {
    if (cc.pidMode == static_cast<int>(NamespaceMode::Pod))
      in.pidnsPath = "/proc/" + std::to_string(pod.infraPid) + "/ns/pid";
    if (!in.hostIpc && in.ipcnsPath.empty()) in.ipcnsPath = "/proc/" + std::to_string(pod.infraPid) + "/ns/ipc";
  }
  // The pod's files, unless a CRI mount takes their place.
  const auto& p = host.paths;
  for (const auto& [dst, file] :
       std::vector<std::pair<std::string, std::string>>{{"/etc/hostname", p.podHostname(pod.id)},
                                                        {"/etc/hosts", p.podHosts(pod.id)},
                                                        {"/etc/resolv.conf", p.podResolvConf(pod.id)}})
    if (!covered(cc, dst)) in.mounts.push_back({dst, file, cc.readonlyRootfs, "rprivate"});
  if (!covered(cc, "/dev/shm"))
    in.mounts.push_back({"/dev/shm", in.hostIpc ? "/dev/shm" : p.podShm(pod.id), false, "rprivate"});
  in.mounts.insert(in.mounts.end(), host.volumes.begin(), host.volumes.end());
  in.mounts.insert(in.mounts.end(), host.imageVolumes.begin(), host.imageVolumes.end());
  in.mounts.insert(in.mounts.end(), host.cdi.mounts.begin(), host.cdi.mounts.end());
  in.devices = host.devices;
  in.hooks = host.cdi.hooks;
  in.cgroupsPath = host.cgroupsPath;
  in.privileged = cc.privileged;
  in.withoutHostDevices = handler.privilegedWithoutHostDevices;
  in.readonlyRootfs = cc.readonlyRootfs;
  in.noNewPrivileges = cc.noNewPrivs;
  in.capabilities = cc.privileged ? host.ownCapabilities
                                  : spec::adjustCapabilities(spec::defaultCapabilities(), cc.capAdd, cc.capDrop,
                                                             host.ownCapabilities);
  in.oomScoreAdj = std::max(static_cast<int>(cc.oomScoreAdj), host.ownOomScoreAdj);
  // net.* went into the pod's pinned network namespace already.
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
  if (!cc.privileged) in.seccomp = TRY(security::seccompFor(host.seccomp, host.seccompText, in.capabilities));
  in.maskedPaths = cc.maskedPaths;
  in.readonlyPaths = cc.readonlyPaths;
  in.resources = host.resources;
  return in;
}

}  // namespace crix::lifecycle
