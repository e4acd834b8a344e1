// crixd's configuration: defaults, TOML files and drop-ins, validation.
//
// Sources apply in this order, each overriding the keys it sets:
//   built-in defaults → /etc/crix/crix.toml → /etc/crix/crix.d/*.toml (name
//   order) → command-line flags.
// Every error names the file, line and column and the key at fault.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/paths.h"

namespace crix::config {

inline constexpr const char* kDefaultConfigFile = "/etc/crix/crix.toml";
inline constexpr const char* kDefaultDropInDir = "/etc/crix/crix.d";
// The groups of [metrics] included_pod_metrics, all reported by default.
inline const std::vector<std::string> kPodMetricGroups = {"cpu", "memory", "network", "disk", "process", "misc"};

// One [runtimes.<name>] table: an OCI runtime the pods can choose.
struct RuntimeHandler {
  std::string path;  // binary, absolute or looked up on PATH
  std::string root;  // the runtime's --root; empty: <state_dir>/runtimes/<name>
  // "oci" (runc, crun) or "gvisor" (runsc: a sandbox per pod, mount hints);
  // empty in a file means: guessed from the binary's name.
  std::string type = "oci";
  std::vector<std::string> runtimeArgs;         // global flags before every subcommand
  std::vector<std::string> allowedAnnotations;  // keys or "prefix.*" copied from the pod and container
  bool privilegedWithoutHostDevices = false;    // privileged containers get no host /dev
  std::string monitorPath;                      // conmon for this handler; empty: [runtime] conmon
  std::string baseSpec;                         // a config.json the built specs are merged onto
  bool operator==(const RuntimeHandler&) const = default;
};

// One [registries."host[:port]"] table.
struct Registry {
  bool insecure = false;             // plain HTTP
  std::vector<std::string> mirrors;  // host[:port], tried in order before the registry itself
  std::string caDir;                 // extra CA certificates (*.crt)
  bool operator==(const Registry&) const = default;
};

struct Config {
  // daemon
  std::string listen = "/run/crix/crix.sock";
  std::string root = "/var/lib/crix";
  std::string stateDir = "/run/crix";
  std::string logLevel = "info";
  std::chrono::milliseconds shutdownTimeout{10000};

  // [runtime]
  std::string cgroupDriver = "cgroupfs";
  std::string conmon = "conmon";
  std::string defaultRuntime = "runc";
  int64_t logSizeMax = -1;  // bytes per container log file; -1: no cap
  // Huge page limits on a host whose runtime has no hugetlb controller are
  // left out of the spec (containerd's tolerate_missing_hugetlb_controller);
  // false: such a CreateContainer fails.
  bool tolerateMissingHugetlb = true;
  // Pods with their own network namespace get net.ipv4.ip_unprivileged_port_start=0
  // and net.ipv4.ping_group_range="0 2147483647" (containerd 2's defaults)
  // unless their own sysctls say otherwise.
  bool unprivilegedPorts = true, unprivilegedIcmp = true;
  // How long StopPodSandbox waits for containers still running after it
  // sent each its stop signal; then SIGKILL. 0: SIGKILL at once, as
  // containerd does (the kubelet stops every container with its own grace
  // period before it stops the pod).
  std::chrono::milliseconds podStopGracePeriod{0};
  std::map<std::string, RuntimeHandler> runtimes = {{"runc", {.path = "runc"}}};
  // Where the kubelet keeps pod volumes (<dir>/<pod uid>/volumes/<plugin>/<name>),
  // for gVisor's mount hints.
  std::string kubeletPodsDir = "/var/lib/kubelet/pods";
  // Where CDI specs (JSON) for ContainerConfig.CDI_devices are read from; a
  // later directory's spec of the same device wins (runtime-generated ones).
  std::vector<std::string> cdiSpecDirs = {"/etc/cdi", "/var/run/cdi"};

  // [network]
  std::string cniConfigDir = "/etc/cni/net.d";
  std::vector<std::string> cniPluginDirs = {"/opt/cni/bin", "/usr/lib/cni"};
  // A CNI configuration with "{{.PodCIDR}}" in it: UpdateRuntimeConfig
  // writes it, the kubelet's pod CIDR put in, to cni_config_dir as
  // 10-crix-template.conflist. Empty: the call changes nothing.
  std::string cniConfTemplate;

  // [image]
  std::string pauseImage = "registry.k8s.io/pause:3.10";
  std::string pauseCommand;  // empty: the pause image's own Entrypoint and Cmd
  std::vector<std::string> pinnedImages;
  std::vector<std::string> searchRegistries = {"docker.io"};
  int64_t maxConcurrentDownloads = 3;
  int64_t maxLayerSize = int64_t{16} << 30;  // uncompressed bytes
  bool allowDeviceNodes = true;
  std::string imageVolumes = "mkdir";  // the image's Volumes: "mkdir" (a fresh dir each) or "ignore"

  // [streaming]: the exec, attach and port-forward server
  std::string streamingAddress = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::chrono::milliseconds streamingIdleTimeout{std::chrono::hours(4)};
  int64_t streamingMaxSessions = 256;

  // [registries."host[:port]"]
  std::map<std::string, Registry> registries;

  // [metrics]
  std::string metricsAddress;  // "host:port" for GET /metrics; empty: off
  // The groups of cAdvisor metrics ListPodSandboxMetrics reports.
  std::vector<std::string> includedPodMetrics = kPodMetricGroups;

  // The on-disk layout under root and state_dir.
  Paths paths() const { return Paths(root, stateDir); }
  std::string databasePath() const { return paths().database(); }
  // The handler's own root, or <state_dir>/runtimes/<handler>.
  std::string runtimeRoot(const std::string& handler) const {
    const auto& h = runtimes.at(handler);
    return h.root.empty() ? paths().runtimeRoot(handler) : h.root;
  }
  bool operator==(const Config&) const = default;
};

// Applies one TOML document to cfg. `origin` names it in errors (a path).
Result<> applyToml(Config& cfg, std::string_view text, const std::string& origin);

// Applies a file; a missing file is an error only when `required`.
Result<> applyFile(Config& cfg, const std::string& path, bool required);

// Applies every *.toml in dir in name order; a missing dir is fine.
Result<> applyDropIns(Config& cfg, const std::string& dir);

// Checks rules that span keys (the default runtime exists, paths are
// absolute); called once every source is applied.
Result<> validate(const Config& cfg);

// The effective configuration, as TOML (`crixd config`) and as JSON (Status).
std::string toToml(const Config& cfg);
std::string toJson(const Config& cfg);

// "10s", "250ms", "1m30s" → milliseconds.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace crix::config
