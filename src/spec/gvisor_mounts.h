// gVisor's mount hints: what runsc needs from the runtime side to share a
// pod's volumes and /dev/shm between the containers of one sandbox.
//
// The kubelet (or an admission webhook) annotates a pod with
//   dev.gvisor.spec.mount.<volume>.{type,share,options}
// and runsc reads those hints from the sandbox's spec only. Before create:
//
//   sandbox spec (container-type=sandbox)       container spec (container-type=container)
//   ─────────────────────────────────────       ────────────────────────────────────────
//   <volume>.source = the volume's host dir      the bind mount whose source is
//     <pods dir>/<pod uid>/volumes/*/<volume>      <pods dir>/*/volumes/*/<volume>
//     (exactly one must exist)                     takes the hint's type (the
//   an EmptyDir volume (kubernetes.io~empty-dir)   admission controller's: tmpfs for
//     gets type=tmpfs                              medium=Memory, bind otherwise)
//
//   both: the bind mount of /dev/shm becomes a tmpfs mount and a duplicate
//   tmpfs /dev/shm mount goes; the sandbox also gets a pod-wide hint
//   "gvisorinternaldevshm" (tmpfs, share=pod, rw) on the pod's shm directory.
//
// The pod UID comes from the sandbox log directory annotation, whose last
// path element is "<namespace>_<name>_<uid>" (or, in the older layout,
// "<uid>"). Pure: the file system is reached through the Glob callback.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace crix::spec {

inline constexpr const char* kContainerTypeAnnotation = "io.kubernetes.cri.container-type";
inline constexpr const char* kSandboxIdAnnotation = "io.kubernetes.cri.sandbox-id";
inline constexpr const char* kSandboxLogDirAnnotation = "io.kubernetes.cri.sandbox-log-directory";
inline constexpr const char* kMountHintPrefix = "dev.gvisor.spec.mount.";
inline constexpr const char* kDevShmHint = "gvisorinternaldevshm";

// Paths matching a shell pattern (glob(3)), sorted.
using Glob = std::function<std::vector<std::string>(const std::string& pattern)>;

// The pod UID from a sandbox log directory such as
// /var/log/pods/<namespace>_<name>_<uid> or /var/log/pods/<uid>.
Result<std::string> podUidFromLogDirectory(const std::string& logDirectory);

// Rewrites the mount hints of one OCI spec for runsc, as drawn above; the
// spec's container-type annotation says which side it is. Returns whether
// anything changed. kubeletPodsDir is the kubelet's pods directory.
Result<bool> rewriteGvisorMountHints(nlohmann::json& spec, const std::string& kubeletPodsDir, const Glob& glob);

// Sets a mount's type; a mount that is no longer a bind mount loses its
// "bind"/"rbind" options.
void changeMountType(nlohmann::json& mount, const std::string& type);

}  // namespace crix::spec
