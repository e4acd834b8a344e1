// The pod sandbox model and its states.
//
//   RunPodSandbox ──► READY ──StopPodSandbox──► NOTREADY ──RemovePodSandbox──► (gone)
//                       │                                        ▲
//                       └──────── RemovePodSandbox (stops first) ┘
//
// A READY pod owns: its reserved name, its pod directory
// (<state_dir>/pods/<id>: hostname, hosts, resolv.conf, shm tmpfs), its
// pinned network namespace (<state_dir>/netns/<id>, unless it uses the
// host's network), its pinned user namespace if it asked for one
// (<state_dir>/userns/<id>; the network namespace is then that one's), its pinned IPC and UTS namespaces
// (<state_dir>/ipcns/<id> unless it shares the host's IPC, <state_dir>/utsns/<id> unless it has the host's network;
// none under a sandboxing handler), its CNI attachment and its store row; a pod
// whose containers share one PID namespace, or whose handler sandboxes it (gVisor), also owns an infra container (id =
// the pod's id, bundle <pod dir>/infra, rootfs <root>/containers/<id>). Stopping releases the network (CNI DEL, netns),
// the IPC, UTS and user namespaces and the shm mount; removing releases the rest.
//
// The store row's state column says more than these two states: it is
// "creating" from before RunPodSandbox's first host effect until the pod is
// ready, and "stopping" while StopPodSandbox releases; a crash leaves it so,
// and start-up rolls the first back and finishes the second
// (PodManager::recover).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lifecycle/startup_breakdown.h"
#include "network/cni.h"
#include "spec/container_spec.h"
#include "sys/namespaces.h"

namespace crix::lifecycle {

// The CRI's NamespaceMode values.
enum class NamespaceMode { Pod = 0, Container = 1, Node = 2, Target = 3 };

struct PodMetadata {
  std::string name, uid, ns;
  uint32_t attempt = 0;
  bool operator==(const PodMetadata&) const = default;
};

struct PodConfig {
  PodMetadata metadata;
  std::string hostname;
  std::string logDirectory;
  std::vector<std::string> dnsServers, dnsSearches, dnsOptions;
  std::vector<network::PortMapping> portMappings;
  std::map<std::string, std::string> labels, annotations;
  std::string cgroupParent;
  std::map<std::string, std::string> sysctls;
  NamespaceMode network = NamespaceMode::Pod, pid = NamespaceMode::Container, ipc = NamespaceMode::Pod;
  // Pod: a user namespace of the pod's own with these mappings; Node: the host's.
  NamespaceMode userns = NamespaceMode::Node;
  std::vector<sys::IdMapping> uidMappings, gidMappings;
  std::string runtimeHandler;
  bool privileged = false;
  // As security/lsm.h spells them; crix applies neither (refused when asked).
  std::string apparmorProfile, selinuxLabel;
  // The pod's limits and its runtime overhead as the kubelet set its
  // cgroup (RunPodSandbox, then UpdatePodSandboxResources after a resize).
  // The kubelet owns that cgroup (cgroupParent); crix keeps the record.
  spec::Resources resources, overhead;
  bool operator==(const PodConfig&) const = default;
};

enum class SandboxState { Ready, NotReady };

struct Sandbox {
  std::string id;
  std::string name;  // the reserved k8s_POD_... name
  PodConfig config;
  SandboxState state = SandboxState::Ready;
  int64_t createdAt = 0;  // ns since the epoch
  std::string handler;    // the resolved runtime handler
  std::string podDir;
  std::string netnsPath;   // empty with host networking
  std::string usernsPath;  // the pod's pinned user namespace, if it has one
  // The pod's pinned IPC namespace (empty: the host's, or a row from before
  // crix pinned it) and UTS namespace (empty: the host's, with its network).
  std::string ipcnsPath, utsnsPath;
  std::string network;  // CNI network name
  std::vector<std::string> ips;
  bool infra = false;  // an infra (pause) container runs for this pod
  int infraPid = 0;
  // RunPodSandbox's steps. In memory only: not in the store, so a pod
  // loaded after a restart has none.
  StartupBreakdown startup;
};

// The pod's hostname: the configured one, else the node's (as containerd does).
std::string podHostname(const PodConfig& c);

// "k8s_POD_<name>_<namespace>_<uid>_<attempt>"
std::string podName(const PodMetadata& m);

// JSON for the store's data column, and back.
std::string toJson(const Sandbox& s);
Result<Sandbox> sandboxFromJson(const std::string& json);

}  // namespace crix::lifecycle
