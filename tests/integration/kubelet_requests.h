// KubeletRequests: the CRI requests kubelet 1.32–1.36 sends for a pod with
// one container, built the way pkg/kubelet/kuberuntime builds them
// (generatePodSandboxConfig, generateContainerConfig, calculateLinuxResources)
// on a node with the cgroupfs driver and the kubelet's defaults: CPU CFS
// quota on, no SeccompDefault, swap behaviour NoSwap, UserNamespacesSupport
// on (1.33 and later), cluster DNS 10.96.0.10 in cluster.local.
//
// The kubelet's files for the pod live under the node's directories:
//
//   <podsDir>/<uid>/                        the pod's directory (kubelet root/pods)
//     etc-hosts                             mounted at /etc/hosts; the caller writes it
//     containers/<name>/<8 hex chars>       termination message file, mounted at
//                                           /dev/termination-log (0666, empty)
//   <podLogsDir>/<ns>_<name>_<uid>/         the sandbox's log_directory
//     <container>/<restart count>.log       the container's log_path
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crix/proto/api.pb.h"

namespace crix::test {

enum class QosClass { Guaranteed, Burstable, BestEffort };

// The pod as the API server holds it, reduced to what the requests depend on.
struct KubeletPod {
  std::string name = "web";
  std::string namespace_ = "default";
  std::string uid;  // metadata.uid
  uint32_t attempt = 0;
  QosClass qos = QosClass::Burstable;
  // Of the one container; 0 leaves the request or limit out.
  int64_t cpuRequestMilli = 0, cpuLimitMilli = 0;
  int64_t memoryRequestBytes = 0, memoryLimitBytes = 0;
  std::optional<int64_t> runAsUser;            // the container's securityContext.runAsUser
  std::map<std::string, std::string> sysctls;  // the pod's securityContext.sysctls
  bool hostNetwork = false;
  std::map<std::string, std::string> labels;  // the pod's own labels
  // The container.
  std::string containerName = "app";
  std::string image;                // the image's id, as PullImage answered it (image_ref)
  std::string userImage;            // the image as the pod spec names it
  std::optional<int64_t> imageUid;  // ImageStatus's uid or username: the
  std::string imageUsername;        // kubelet's getImageUser
  std::vector<std::string> command, args;
  std::vector<std::pair<std::string, std::string>> env;  // the container's own, before the service links
  uint32_t restartCount = 0;
};

// The node's side of the kubelet's configuration.
struct KubeletNode {
  std::string podsDir;     // <kubelet root>/pods
  std::string podLogsDir;  // /var/log/pods
  std::string clusterDns = "10.96.0.10";
  std::string clusterDomain = "cluster.local";
  std::string resolvConf = "/etc/resolv.conf";  // --resolv-conf: host-network pods' DNS, extra searches
  std::string kubernetesServiceIp = "10.96.0.1";
};

class KubeletRequests {
 public:
  KubeletRequests(KubeletPod pod, KubeletNode node);

  const KubeletPod& pod() const { return pod_; }

  // RunPodSandbox's request. Creates the pod's directory and its log
  // directory first, as the kubelet does.
  ::runtime::v1::RunPodSandboxRequest runPodSandbox() const;
  ::runtime::v1::PodSandboxConfig sandboxConfig() const;

  // CreateContainer's request for the pod `podSandboxId`. Creates the
  // container's log directory and a fresh termination message file, as
  // generateContainerConfig does; each call makes a new one.
  ::runtime::v1::CreateContainerRequest createContainer(const std::string& podSandboxId);

  // The ExecSync of an exec liveness probe with `timeoutSeconds`.
  static ::runtime::v1::ExecSyncRequest probe(const std::string& containerId, std::vector<std::string> cmd,
                                              int64_t timeoutSeconds = 1);

  std::string podDir() const;        // <podsDir>/<uid>
  std::string etcHostsPath() const;  // <podDir>/etc-hosts
  // The kubelet's etc-hosts for this pod once it has `podIp` (a
  // host-network pod gets the node's /etc/hosts under its own header).
  std::string etcHostsContent(const std::string& podIp) const;
  // The host file of the last createContainer's /dev/termination-log.
  const std::string& terminationMessageFile() const { return terminationFile_; }
  std::string logDirectory() const;  // <podLogsDir>/<ns>_<name>_<uid>
  std::string cgroupParent() const;  // /kubepods/burstable/pod<uid> and the like

  // What the container's resources ask for.
  int64_t cpuShares() const;  // from the request, at least 2
  int64_t cpuQuota() const;   // from the limit, 0 without one
  int64_t cpuPeriod() const { return 100000; }
  int64_t oomScoreAdj() const;
  std::vector<std::string> dnsSearches() const;

 private:
  ::runtime::v1::LinuxContainerResources containerResources() const;
  ::runtime::v1::NamespaceOption namespaceOptions() const;

  KubeletPod pod_;
  KubeletNode node_;
  std::string seen_;  // kubernetes.io/config.seen: when the kubelet first saw the pod
  std::string terminationFile_;
};

// The node's huge page sizes as the kubelet (runc's HugePageSizes) names
// them, in directory order: hugepages-1048576kB → "1GB", hugepages-2048kB → "2MB".
std::vector<std::string> nodeHugepageSizes(const std::string& dir = "/sys/kernel/mm/hugepages");

// The node's memory capacity (MemTotal), as cAdvisor reports it.
int64_t nodeMemoryBytes();

// Whether /sys/fs/cgroup is a cgroup v2 mount (libcontainer's IsCgroup2UnifiedMode).
bool cgroup2UnifiedMode();

// A fresh pod UID in the API server's form (a random version 4 UUID).
std::string newPodUid();

}  // namespace crix::test
