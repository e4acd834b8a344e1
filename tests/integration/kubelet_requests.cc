#include "integration/kubelet_requests.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace crix::test {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

namespace {

// pkg/kubelet/cm: shares per CPU and their bounds; libcontainer's quota floor.
constexpr int64_t kMinShares = 2, kMaxShares = 262144, kSharesPerCpu = 1024, kMinQuota = 1000;
// pkg/kubelet/qos.
constexpr int64_t kGuaranteedOomScoreAdj = -997, kBestEffortOomScoreAdj = 1000;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t milliCpuToShares(int64_t milli) {
  if (milli == 0) return kMinShares;
  return std::clamp(milli * kSharesPerCpu / 1000, kMinShares, kMaxShares);
}

int64_t milliCpuToQuota(int64_t milli, int64_t period) {
  if (milli == 0) return 0;
  return std::max(milli * period / 1000, kMinQuota);
}

// The API server's defaulting: a limit without a request makes the request.
int64_t requestOrLimit(int64_t request, int64_t limit) {
  return request != 0 ? request : limit;
}

// calculateLinuxResources: what the kubelet asks of a cgroup for a CPU
// request and limit and a memory limit, the pod's and the container's alike.
v1::LinuxContainerResources linuxResources(int64_t cpuRequestMilli, int64_t cpuLimitMilli, int64_t memoryLimit) {
  v1::LinuxContainerResources r;
  r.set_cpu_shares(milliCpuToShares(cpuRequestMilli != 0 ? cpuRequestMilli : cpuLimitMilli));
  if (memoryLimit != 0) r.set_memory_limit_in_bytes(memoryLimit);
  r.set_cpu_period(100000);
  r.set_cpu_quota(milliCpuToQuota(cpuLimitMilli, r.cpu_period()));
  // singleProcessOOMKill defaults to false on cgroup v2: the whole container goes on OOM.
  if (cgroup2UnifiedMode()) (*r.mutable_unified())["memory.oom.group"] = "1";
  return r;
}

// swapControllerAvailable: v1's memsw files, or v2's memory.swap.max in the kubelet's own cgroup.
bool swapControllerAvailable() {
  if (!cgroup2UnifiedMode()) return fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  std::istringstream lines(slurp("/proc/self/cgroup"));
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("0::")) return fs::exists("/sys/fs/cgroup" + line.substr(3) + "/memory.swap.max");
  return false;
}

// DNS settings of the node's resolv.conf, as the kubelet's parseResolvConf reads them.
struct ResolvConf {
  std::vector<std::string> servers, searches, options;
};

ResolvConf parseResolvConf(const std::string& path) {
  ResolvConf out;
  std::istringstream lines(slurp(path));
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find_first_of("#;"));
    std::istringstream words(line);
    std::string key, word;
    words >> key;
    std::vector<std::string> rest;
    while (words >> word) rest.push_back(word);
    if (key == "nameserver" && !rest.empty()) out.servers.push_back(rest[0]);
    if (key == "search" || key == "domain") out.searches = rest;
    if (key == "options") out.options.insert(out.options.end(), rest.begin(), rest.end());
  }
  return out;
}

std::string rfc3339Now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(ns));
  return std::string(buf) + frac;
}

// The kubelet hashes the container spec with FNV-32a and prints it in hex.
std::string fnv32a(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x", h);
  return buf;
}

std::string randomHex(int digits) {
  static std::mt19937_64 gen{std::random_device{}()};
  std::string out;
  for (int i = 0; i < digits; ++i) out += "0123456789abcdef"[gen() % 16];
  return out;
}

void addMount(v1::ContainerConfig& c, const std::string& hostPath, const std::string& containerPath) {
  auto* m = c.add_mounts();
  m->set_host_path(hostPath);
  m->set_container_path(containerPath);
  m->set_readonly(false);
  m->set_selinux_relabel(false);  // SELinux is off on the nodes these tests run on
}

}  // namespace

KubeletRequests::KubeletRequests(KubeletPod pod, KubeletNode node)
    : pod_(std::move(pod)), node_(std::move(node)), seen_(rfc3339Now()) {}

std::string KubeletRequests::podDir() const {
  return node_.podsDir + "/" + pod_.uid;
}

std::string KubeletRequests::etcHostsPath() const {
  return podDir() + "/etc-hosts";
}

std::string KubeletRequests::logDirectory() const {
  return node_.podLogsDir + "/" + pod_.namespace_ + "_" + pod_.name + "_" + pod_.uid;
}

std::string KubeletRequests::cgroupParent() const {
  switch (pod_.qos) {
    case QosClass::Guaranteed: return "/kubepods/pod" + pod_.uid;
    case QosClass::Burstable: return "/kubepods/burstable/pod" + pod_.uid;
    case QosClass::BestEffort: return "/kubepods/besteffort/pod" + pod_.uid;
  }
  return "";
}

std::string KubeletRequests::etcHostsContent(const std::string& podIp) const {
  if (pod_.hostNetwork) return "# Kubernetes-managed hosts file (host network).\n" + slurp("/etc/hosts");
  return "# Kubernetes-managed hosts file.\n"
         "127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "fe00::0\tip6-mcastprefix\n"
         "fe00::1\tip6-allnodes\n"
         "fe00::2\tip6-allrouters\n" +
         podIp + "\t" + pod_.name + "\n";
}

int64_t KubeletRequests::cpuShares() const {
  return milliCpuToShares(requestOrLimit(pod_.cpuRequestMilli, pod_.cpuLimitMilli));
}

int64_t KubeletRequests::cpuQuota() const {
  return milliCpuToQuota(pod_.cpuLimitMilli, cpuPeriod());
}

int64_t KubeletRequests::oomScoreAdj() const {
  if (pod_.qos == QosClass::Guaranteed) return kGuaranteedOomScoreAdj;
  if (pod_.qos == QosClass::BestEffort) return kBestEffortOomScoreAdj;
  int64_t request = requestOrLimit(pod_.memoryRequestBytes, pod_.memoryLimitBytes);
  int64_t capacity = std::max<int64_t>(nodeMemoryBytes(), 1);
  int64_t adj = 1000 - (1000 * request) / capacity;
  if (adj < 1000 + kGuaranteedOomScoreAdj) return 1000 + kGuaranteedOomScoreAdj;
  if (adj == kBestEffortOomScoreAdj) return adj - 1;
  return adj;
}

// generateSearchesForDNSClusterFirst: the cluster's domains, then the node's.
std::vector<std::string> KubeletRequests::dnsSearches() const {
  if (pod_.hostNetwork) return parseResolvConf(node_.resolvConf).searches;
  const std::string& d = node_.clusterDomain;
  std::vector<std::string> out = {pod_.namespace_ + ".svc." + d, "svc." + d, d};
  for (const auto& s : parseResolvConf(node_.resolvConf).searches)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  return out;
}

v1::NamespaceOption KubeletRequests::namespaceOptions() const {
  v1::NamespaceOption ns;
  ns.set_network(pod_.hostNetwork ? v1::NODE : v1::POD);
  ns.set_pid(v1::CONTAINER);
  ns.set_ipc(v1::POD);
  // hostUsers unset with UserNamespacesSupport on: the node's user namespace, said out loud.
  ns.mutable_userns_options()->set_mode(v1::NODE);
  return ns;
}

v1::PodSandboxConfig KubeletRequests::sandboxConfig() const {
  v1::PodSandboxConfig c;
  auto* md = c.mutable_metadata();
  md->set_name(pod_.name);
  md->set_namespace_(pod_.namespace_);
  md->set_uid(pod_.uid);
  md->set_attempt(pod_.attempt);
  // Host-network pods keep the node's name: the kubelet sends none.
  if (!pod_.hostNetwork) c.set_hostname(pod_.name.substr(0, 63));
  c.set_log_directory(logDirectory());
  auto* dns = c.mutable_dns_config();
  if (pod_.hostNetwork) {
    // dnsPolicy ClusterFirst on the host's network falls back to Default: the node's resolv.conf.
    auto host = parseResolvConf(node_.resolvConf);
    for (const auto& s : host.servers) dns->add_servers(s);
    for (const auto& s : host.searches) dns->add_searches(s);
    for (const auto& o : host.options) dns->add_options(o);
  } else {
    dns->add_servers(node_.clusterDns);
    for (const auto& s : dnsSearches()) dns->add_searches(s);
    dns->add_options("ndots:5");
  }
  auto& labels = *c.mutable_labels();
  labels.insert(pod_.labels.begin(), pod_.labels.end());
  labels["io.kubernetes.pod.name"] = pod_.name;
  labels["io.kubernetes.pod.namespace"] = pod_.namespace_;
  labels["io.kubernetes.pod.uid"] = pod_.uid;
  auto& annotations = *c.mutable_annotations();
  annotations["kubernetes.io/config.seen"] = seen_;
  annotations["kubernetes.io/config.source"] = "file";
  annotations["kubernetes.io/config.hash"] = fnv32a(pod_.namespace_ + "/" + pod_.name + "/" + pod_.uid);

  auto* linux = c.mutable_linux();
  linux->set_cgroup_parent(cgroupParent());
  auto* sc = linux->mutable_security_context();
  *sc->mutable_namespace_options() = namespaceOptions();
  sc->set_privileged(false);
  // The kubelet always runs the sandbox under runtime/default (kubernetes#84623).
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  linux->mutable_sysctls()->insert(pod_.sysctls.begin(), pod_.sysctls.end());
  // calculateSandboxResources: the sum over the pod's one container; no overhead.
  int64_t cpuRequest = requestOrLimit(pod_.cpuRequestMilli, pod_.cpuLimitMilli);
  *linux->mutable_resources() = linuxResources(cpuRequest, pod_.cpuLimitMilli, pod_.memoryLimitBytes);
  linux->mutable_overhead();
  return c;
}

v1::RunPodSandboxRequest KubeletRequests::runPodSandbox() const {
  std::error_code ec;
  fs::create_directories(podDir() + "/volumes", ec);
  fs::create_directories(podDir() + "/plugins", ec);
  fs::create_directories(logDirectory(), ec);
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = sandboxConfig();
  return req;
}

v1::LinuxContainerResources KubeletRequests::containerResources() const {
  int64_t cpuRequest = requestOrLimit(pod_.cpuRequestMilli, pod_.cpuLimitMilli);
  auto r = linuxResources(cpuRequest, pod_.cpuLimitMilli, pod_.memoryLimitBytes);
  r.set_oom_score_adj(oomScoreAdj());
  // GetHugepageLimitsFromResources: a 0 for every size the node has, unless the pod asks for pages.
  for (const auto& size : nodeHugepageSizes()) {
    auto* h = r.add_hugepage_limits();
    h->set_page_size(size);
    h->set_limit(0);
  }
  // configureContainerSwapResources with NoSwap: memory+swap = memory on v1, no swap on v2.
  if (swapControllerAvailable()) {
    if (cgroup2UnifiedMode()) {
      (*r.mutable_unified())["memory.swap.max"] = "0";
    } else {
      r.set_memory_swap_limit_in_bytes(r.memory_limit_in_bytes());
    }
  }
  return r;
}

v1::CreateContainerRequest KubeletRequests::createContainer(const std::string& podSandboxId) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(podSandboxId);
  *req.mutable_sandbox_config() = sandboxConfig();
  auto& c = *req.mutable_config();
  c.mutable_metadata()->set_name(pod_.containerName);
  c.mutable_metadata()->set_attempt(pod_.restartCount);
  c.mutable_image()->set_image(pod_.image);
  c.mutable_image()->set_user_specified_image(pod_.userImage);
  for (const auto& a : pod_.command) c.add_command(a);
  for (const auto& a : pod_.args) c.add_args(a);
  c.set_working_dir("");
  // makeEnvironmentVariables: the container's own variables, then the
  // service links of the kubernetes service in "default".
  auto env = pod_.env;
  const std::string& ip = node_.kubernetesServiceIp;
  for (const auto& kv :
       std::vector<std::pair<std::string, std::string>>{{"KUBERNETES_SERVICE_HOST", ip},
                                                        {"KUBERNETES_SERVICE_PORT", "443"},
                                                        {"KUBERNETES_SERVICE_PORT_HTTPS", "443"},
                                                        {"KUBERNETES_PORT", "tcp://" + ip + ":443"},
                                                        {"KUBERNETES_PORT_443_TCP", "tcp://" + ip + ":443"},
                                                        {"KUBERNETES_PORT_443_TCP_PROTO", "tcp"},
                                                        {"KUBERNETES_PORT_443_TCP_PORT", "443"},
                                                        {"KUBERNETES_PORT_443_TCP_ADDR", ip}})
    env.push_back(kv);
  for (const auto& [k, v] : env) {
    auto* e = c.add_envs();
    e->set_key(k);
    e->set_value(v);
  }

  // makeMounts: the pod's volumes (here only the kubelet's etc-hosts), then
  // the termination message file, a fresh one for each container instance.
  std::string containerDir = podDir() + "/containers/" + pod_.containerName;
  std::error_code ec;
  fs::create_directories(containerDir, ec);
  ::chmod(containerDir.c_str(), 0750);
  terminationFile_ = containerDir + "/" + randomHex(8);
  std::ofstream(terminationFile_, std::ios::trunc).close();
  ::chmod(terminationFile_.c_str(), 0666);
  addMount(c, etcHostsPath(), "/etc/hosts");
  addMount(c, terminationFile_, "/dev/termination-log");

  auto& labels = *c.mutable_labels();
  labels["io.kubernetes.container.name"] = pod_.containerName;
  labels["io.kubernetes.pod.name"] = pod_.name;
  labels["io.kubernetes.pod.namespace"] = pod_.namespace_;
  labels["io.kubernetes.pod.uid"] = pod_.uid;
  auto& annotations = *c.mutable_annotations();
  std::string spec = pod_.containerName + "|" + pod_.userImage;
  for (const auto& a : pod_.command) spec += "|" + a;
  for (const auto& a : pod_.args) spec += "|" + a;
  annotations["io.kubernetes.container.hash"] = fnv32a(spec);
  annotations["io.kubernetes.container.restartCount"] = std::to_string(pod_.restartCount);
  annotations["io.kubernetes.container.terminationMessagePath"] = "/dev/termination-log";
  annotations["io.kubernetes.container.terminationMessagePolicy"] = "File";
  annotations["io.kubernetes.pod.terminationGracePeriod"] = "30";

  fs::create_directories(logDirectory() + "/" + pod_.containerName, ec);
  c.set_log_path(pod_.containerName + "/" + std::to_string(pod_.restartCount) + ".log");

  auto* linux = c.mutable_linux();
  *linux->mutable_resources() = containerResources();
  // determineEffectiveSecurityContext for a container without a securityContext
  // of its own beyond runAsUser: the image's user unless one is asked for.
  auto* sc = linux->mutable_security_context();
  if (pod_.runAsUser) {
    sc->mutable_run_as_user()->set_value(*pod_.runAsUser);
  } else {
    if (pod_.imageUid) sc->mutable_run_as_user()->set_value(*pod_.imageUid);
    sc->set_run_as_username(pod_.imageUsername);
  }
  *sc->mutable_namespace_options() = namespaceOptions();
  sc->set_privileged(false);
  sc->set_no_new_privs(false);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);  // no SeccompDefault
  for (const char* p :
       {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"})
    sc->add_masked_paths(p);
  for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})
    sc->add_readonly_paths(p);
  return req;
}

v1::ExecSyncRequest KubeletRequests::probe(const std::string& containerId, std::vector<std::string> cmd,
                                           int64_t timeoutSeconds) {
  v1::ExecSyncRequest req;
  req.set_container_id(containerId);
  for (auto& a : cmd) req.add_cmd(a);
  req.set_timeout(timeoutSeconds);
  return req;
}

std::vector<std::string> nodeHugepageSizes(const std::string& dir) {
  std::set<std::string> names;  // os.ReadDir's order
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.insert(e.path().filename().string());
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (!name.starts_with("hugepages-") || !name.ends_with("kB")) continue;
    std::string digits = name.substr(10, name.size() - 12);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    int64_t kb = std::stoll(digits);
    if (kb >= (1 << 20)) {
      out.push_back(std::to_string(kb >> 20) + "GB");
    } else if (kb >= (1 << 10)) {
      out.push_back(std::to_string(kb >> 10) + "MB");
    } else {
      out.push_back(digits + "KB");
    }
  }
  return out;
}

int64_t nodeMemoryBytes() {
  std::istringstream lines(slurp("/proc/meminfo"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("MemTotal:")) continue;
    std::istringstream words(line.substr(9));
    int64_t kb = 0;
    words >> kb;
    return kb * 1024;
  }
  return 0;
}

bool cgroup2UnifiedMode() {
  struct statfs st {};
  return ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

std::string newPodUid() {
  std::string h = randomHex(32);
  h[12] = '4';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace crix::test
