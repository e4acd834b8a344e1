// crixd against the requests the kubelet really sends (KubeletRequests):
// limits in force in the container's cgroups whatever controllers the host
// has, huge page limits on a host without a hugetlb controller for the
// runtime, the kubelet's files inside the container, removal that leaves
// nothing, the default network sysctls, and stats replies the kubelet's CRI
// stats provider can read without crashing.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "integration/kubelet_fixture.h"

namespace crix::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMi = int64_t{1} << 20;
constexpr const char* kPortSysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
constexpr const char* kPingSysctl = "/proc/sys/net/ipv4/ping_group_range";

int64_t toInt(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (...) {
    return -2;
  }
}

std::string cgroupFile(const std::string& dir, const std::string& name) {
  return trimmed(slurpFile(dir + "/" + name));
}

// cpu.weight for cpu.shares: runc's linear mapping, and the quadratic one of runc 1.3 and later.
std::set<std::string> cpuWeights(int64_t shares) {
  if (shares <= 2) return {"1"};
  std::set<std::string> out = {std::to_string(1 + ((shares - 2) * 9999) / 262142)};
  double l = std::log2(static_cast<double>(shares));
  out.insert(std::to_string(static_cast<int64_t>(std::ceil(std::pow(10, (l * l + 125 * l) / 612.0 - 7.0 / 34.0)))));
  return out;
}

// The v1 controllers the kernel has, to tell them from mount options.
const std::set<std::string>& v1ControllerNames() {
  static const std::set<std::string> names = {"blkio",    "cpu",        "cpuacct", "cpuset", "devices",
                                              "freezer",  "hugetlb",    "memory",  "misc",   "net_cls",
                                              "net_prio", "perf_event", "pids",    "rdma"};
  return names;
}

// What the runtime can use, as the test reads the host: v1 hierarchies, or the v2 root's list.
std::set<std::string> hostControllers() {
  std::set<std::string> out;
  if (cgroup2UnifiedMode()) {
    std::istringstream words(slurpFile("/sys/fs/cgroup/cgroup.controllers"));
    for (std::string w; words >> w;) out.insert(w);
    return out;
  }
  for (const auto& m : cgroupMounts())
    if (!m.v2)
      for (const auto& o : m.options)
        if (v1ControllerNames().count(o)) out.insert(o);
  return out;
}

// The huge page limits crixd says it left out, checked against the host:
// each size is named, with hugetlb, exactly when the runtime has no hugetlb.
void expectHugetlbDropsAsTheHostHas(const json& info) {
  ASSERT_TRUE(info.is_object()) << info.dump();
  json dropped = info.value("droppedLimits", json::array());
  ASSERT_TRUE(dropped.is_array()) << info.dump();
  auto names = [&](const std::string& size) {
    for (const auto& d : dropped) {
      std::string line = d.is_string() ? d.get<std::string>() : "";
      if (line.find("hugetlb") != std::string::npos && line.find(size) != std::string::npos) return true;
    }
    return false;
  };
  auto sizes = nodeHugepageSizes();
  bool expectDropped = !sizes.empty() && !runtimeHasHugetlb();
  EXPECT_EQ(names(""), expectDropped) << info.dump();
  if (!expectDropped) return;
  for (const auto& size : sizes) EXPECT_TRUE(names(size)) << size << ": " << info.dump();
}

// What the kubelet's CRI stats provider reads without a nil check
// (listPodStatsStrictlyFromCRI, makeContainerStats, addCRIPodNetworkStats):
// a reply missing one of these crashes the kubelet.
::testing::AssertionResult kubeletCanRead(const v1::ContainerStats& s) {
  if (!s.has_attributes() || !s.attributes().has_metadata())
    return ::testing::AssertionFailure() << "container stats without attributes.metadata: " << s.DebugString();
  if (s.has_cpu() && !s.cpu().has_usage_core_nano_seconds())
    return ::testing::AssertionFailure() << "cpu without usage_core_nano_seconds: " << s.DebugString();
  if (s.has_memory() && !s.memory().has_working_set_bytes())
    return ::testing::AssertionFailure() << "memory without working_set_bytes: " << s.DebugString();
  if (s.has_writable_layer() && (!s.writable_layer().has_fs_id() || !s.writable_layer().has_used_bytes()))
    return ::testing::AssertionFailure() << "writable_layer without fs_id or used_bytes: " << s.DebugString();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult kubeletCanRead(const v1::PodSandboxStats& s) {
  if (!s.has_attributes() || !s.attributes().has_metadata())
    return ::testing::AssertionFailure() << "pod stats without attributes.metadata: " << s.DebugString();
  if (!s.has_linux()) return ::testing::AssertionSuccess();
  const auto& l = s.linux();
  if (l.has_network()) {
    if (!l.network().has_default_interface() || l.network().default_interface().name().empty())
      return ::testing::AssertionFailure() << "network without a named default_interface: " << s.DebugString();
    for (const auto& i : l.network().interfaces())
      if (i.name().empty()) return ::testing::AssertionFailure() << "an interface without a name: " << s.DebugString();
  }
  if (l.has_cpu() && !l.cpu().has_usage_core_nano_seconds())
    return ::testing::AssertionFailure() << "pod cpu without usage_core_nano_seconds: " << s.DebugString();
  if (l.has_memory() && !l.memory().has_working_set_bytes())
    return ::testing::AssertionFailure() << "pod memory without working_set_bytes: " << s.DebugString();
  for (const auto& c : l.containers()) {
    auto r = kubeletCanRead(c);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

class KubeletTest : public KubeletFixture {
 protected:
  // The limits the kubelet sent, as the running container's cgroups show
  // them, with the huge page limits sent for every size the node has.
  void expectLimitsInForce(const RunningPod& p) {
    const auto& k = p.kubelet;
    const auto& containerId = p.containerId;
    auto sizes = nodeHugepageSizes();
    const auto& sent = p.createRequest.config().linux().resources().hugepage_limits();
    ASSERT_EQ(static_cast<size_t>(sent.size()), sizes.size());
    for (int i = 0; i < sent.size(); ++i) EXPECT_EQ(sent[i].page_size(), sizes[static_cast<size_t>(i)]);
    int pid = containerPid(containerId);
    ASSERT_GT(pid, 0) << containerInfo(containerId).dump();
    std::string cpu = cgroupDirOf(pid, "cpu"), memory = cgroupDirOf(pid, "memory");
    ASSERT_FALSE(cpu.empty()) << slurpFile("/proc/" + std::to_string(pid) + "/cgroup");
    ASSERT_FALSE(memory.empty()) << slurpFile("/proc/" + std::to_string(pid) + "/cgroup");
    for (const auto& c : processCgroups(pid)) {
      if (c.controllers.count("cpu") || c.controllers.count("memory") || cgroup2UnifiedMode()) {
        EXPECT_NE(c.path.find(k.cgroupParent() + "/"), std::string::npos) << c.path;
      }
    }
    int64_t memoryLimit = k.pod().memoryLimitBytes;
    if (cgroup2UnifiedMode()) {
      EXPECT_EQ(cgroupFile(cpu, "cpu.max"),
                (k.cpuQuota() ? std::to_string(k.cpuQuota()) : "max") + " " + std::to_string(k.cpuPeriod()));
      EXPECT_TRUE(cpuWeights(k.cpuShares()).count(cgroupFile(cpu, "cpu.weight"))) << cgroupFile(cpu, "cpu.weight");
      EXPECT_EQ(cgroupFile(memory, "memory.max"), memoryLimit ? std::to_string(memoryLimit) : "max");
    } else {
      EXPECT_EQ(cgroupFile(cpu, "cpu.cfs_period_us"), std::to_string(k.cpuPeriod()));
      EXPECT_EQ(cgroupFile(cpu, "cpu.cfs_quota_us"), k.cpuQuota() ? std::to_string(k.cpuQuota()) : "-1");
      EXPECT_EQ(cgroupFile(cpu, "cpu.shares"), std::to_string(k.cpuShares()));
      if (memoryLimit) {
        EXPECT_EQ(cgroupFile(memory, "memory.limit_in_bytes"), std::to_string(memoryLimit));
      } else {
        EXPECT_GE(toInt(cgroupFile(memory, "memory.limit_in_bytes")), int64_t{1} << 62);  // unlimited
      }
    }
    // Without CAP_SYS_RESOURCE nobody goes below their own score: crixd clamps.
    int64_t own = toInt(trimmed(slurpFile("/proc/" + std::to_string(d_->pid()) + "/oom_score_adj")));
    EXPECT_EQ(toInt(trimmed(slurpFile("/proc/" + std::to_string(pid) + "/oom_score_adj"))),
              std::max(k.oomScoreAdj(), own));
    expectHugetlbDropsAsTheHostHas(containerInfo(containerId));
  }
};

TEST_F(KubeletTest, BurstablePodRunsWithTheLimitsTheKubeletSent) {
  auto spec = pod("burstable", QosClass::Burstable);
  spec.cpuRequestMilli = 250;
  spec.cpuLimitMilli = 500;
  spec.memoryRequestBytes = 64 * kMi;
  spec.memoryLimitBytes = 128 * kMi;
  RunningPod p{KubeletRequests(spec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(p.kubelet.cpuShares(), 256);
  EXPECT_EQ(p.kubelet.cpuQuota(), 50000);
  expectLimitsInForce(p);
}

TEST_F(KubeletTest, BestEffortPodRunsWithTheLimitsTheKubeletSent) {
  RunningPod p{KubeletRequests(pod("besteffort", QosClass::BestEffort), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(p.kubelet.cpuShares(), 2);
  EXPECT_EQ(p.kubelet.oomScoreAdj(), 1000);
  expectLimitsInForce(p);
}

TEST_F(KubeletTest, ContainerSeesTheKubeletsFilesAndAnswersProbes) {
  RunningPod p{KubeletRequests(pod("files", QosClass::BestEffort), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  const auto& id = p.containerId;
  EXPECT_EQ(exec(id, {"cat", "/etc/hosts"}).stdout(), slurpFile(p.kubelet.etcHostsPath()));
  EXPECT_NE(slurpFile(p.kubelet.etcHostsPath()).find(p.podIp + "\tfiles\n"), std::string::npos);
  std::string resolv = exec(id, {"cat", "/etc/resolv.conf"}).stdout();
  EXPECT_NE(resolv.find("nameserver 10.96.0.10\n"), std::string::npos) << resolv;
  std::string search = "search";
  for (const auto& s : p.kubelet.dnsSearches()) search += " " + s;
  EXPECT_NE(resolv.find(search + "\n"), std::string::npos) << resolv;
  EXPECT_EQ(exec(id, {"hostname"}).stdout(), "files\n");
  EXPECT_EQ(exec(id, {"sh", "-c", "echo $KUBERNETES_SERVICE_HOST"}).stdout(), "10.96.0.1\n");

  auto wrote = exec(id, {"sh", "-c", "echo bye > /dev/termination-log"});
  EXPECT_EQ(wrote.exit_code(), 0) << wrote.stderr();
  EXPECT_EQ(slurpFile(p.kubelet.terminationMessageFile()), "bye\n");

  // Liveness probes: a one-second budget, as a pod's timeoutSeconds says.
  for (std::vector<std::string> cmd : {std::vector<std::string>{"cat", "/etc/hosts"}, {"sh", "-c", "exit 0"}}) {
    auto probed = exec(id, cmd, 1);
    EXPECT_EQ(probed.exit_code(), 0) << cmd[0] << ": " << probed.stderr();
  }
}

TEST_F(KubeletTest, VerboseStatusListsTheControllersTheRuntimeCanUse) {
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  ASSERT_TRUE(d_->runtime()->Status(rpcContext().get(), req, &resp).ok());
  auto it = resp.info().find("cgroupControllers");
  ASSERT_NE(it, resp.info().end());
  json j = json::parse(it->second, nullptr, false);
  ASSERT_TRUE(j.is_object() && j["controllers"].is_array() && j["hugepageSizes"].is_array()) << it->second;
  auto names = j["controllers"].get<std::vector<std::string>>();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << it->second;
  std::set<std::string> got(names.begin(), names.end());
  EXPECT_TRUE(got.count("cpu") && got.count("memory")) << it->second;
  EXPECT_EQ(got.count("hugetlb") > 0, runtimeHasHugetlb()) << it->second;
  EXPECT_EQ(got, hostControllers()) << it->second;

  auto sizes = nodeHugepageSizes();
  auto gotSizes = j["hugepageSizes"].get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(gotSizes.begin(), gotSizes.end()), std::set<std::string>(sizes.begin(), sizes.end()));

  ASSERT_TRUE(j["mode"].is_string()) << it->second;
  bool v2Mounted = false;
  for (const auto& m : cgroupMounts()) v2Mounted = v2Mounted || m.v2;
  std::string mode = cgroup2UnifiedMode() ? "unified" : v2Mounted ? "hybrid" : "legacy";
  EXPECT_TRUE(j["mode"].get<std::string>().starts_with(mode)) << it->second;

  ASSERT_TRUE(j["swap"].is_boolean()) << it->second;
  if (cgroup2UnifiedMode()) return;
  for (const auto& m : cgroupMounts()) {
    if (!m.v2 && m.options.count("memory")) {
      EXPECT_EQ(j["swap"].get<bool>(), fs::exists(m.mountPoint + "/memory.memsw.limit_in_bytes"));
    }
  }
}

TEST_F(KubeletTest, RemovalLeavesNothingOnTheHost) {
  auto spec = pod("removed", QosClass::Burstable);
  spec.cpuRequestMilli = 100;
  spec.memoryRequestBytes = spec.memoryLimitBytes = 64 * kMi;
  RunningPod p{KubeletRequests(spec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  int pid = containerPid(p.containerId);
  ASSERT_GT(pid, 0);
  uint64_t started = sys::processStartTicks(pid);
  std::vector<std::string> cgroups;
  for (const auto& c : processCgroups(pid))
    if (c.path.find(p.kubelet.cgroupParent() + "/") != std::string::npos) cgroups.push_back(c.dir);
  ASSERT_FALSE(cgroups.empty());

  // The kubelet's pod deletion: the grace period, then the sandbox.
  v1::StopContainerRequest stop;
  stop.set_container_id(p.containerId);
  stop.set_timeout(30);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(40000).get(), stop, &stopped).ok());
  v1::StopPodSandboxRequest stopPod;
  stopPod.set_pod_sandbox_id(p.podId);
  v1::StopPodSandboxResponse podStopped;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stopPod, &podStopped).ok());
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(p.podId);
  v1::RemovePodSandboxResponse removed;
  ASSERT_TRUE(d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &removed).ok());

  v1::ListContainersResponse containers;
  ASSERT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), {}, &containers).ok());
  EXPECT_EQ(containers.containers_size(), 0);
  v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(d_->runtime()->ListPodSandbox(rpcContext().get(), {}, &pods).ok());
  EXPECT_EQ(pods.items_size(), 0);

  // A process that is still being reaped, or a cgroup still emptying, gets a moment.
  auto gone = [&] {
    if (sys::processStartTicks(pid) == started) return false;
    for (const auto& dir : cgroups)
      if (fs::exists(dir)) return false;
    return true;
  };
  for (int i = 0; i < 100 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(sys::processStartTicks(pid), started) << "container process " << pid << " still runs";
  for (const auto& dir : cgroups) EXPECT_FALSE(fs::exists(dir)) << dir;
  // Nor the pause container's: the pod's cgroup holds nothing any more.
  for (const auto& m : cgroupMounts()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(m.mountPoint + p.kubelet.cgroupParent(), ec))
      EXPECT_FALSE(e.is_directory()) << e.path();
  }
  std::string dir = tmp_ / "d";
  EXPECT_EQ(mountsUnder({d_->root(), dir + "/run"}), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(dir + "/run/netns/" + p.podId));
}

TEST_F(KubeletTest, StrictHugetlbFailsCreateOnlyWhereTheRuntimeLacksHugetlb) {
  if (nodeHugepageSizes().empty()) GTEST_SKIP() << "no huge page sizes: the kubelet sends no hugepage limits";
  ASSERT_NO_FATAL_FAILURE(restart("tolerate_missing_hugetlb_controller = false"));
  auto spec = pod("strict", QosClass::Burstable);
  spec.cpuRequestMilli = 100;
  spec.memoryRequestBytes = 32 * kMi;
  RunningPod p{KubeletRequests(spec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p, false));
  auto req = p.kubelet.createContainer(p.podId);
  ASSERT_GT(req.config().linux().resources().hugepage_limits_size(), 0);
  v1::CreateContainerResponse created;
  auto s = d_->runtime()->CreateContainer(rpcContext(30000).get(), req, &created);
  if (runtimeHasHugetlb()) {
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    EXPECT_TRUE(d_->runtime()->StartContainer(rpcContext(30000).get(), start, &started).ok());
    return;
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("hugetlb"), std::string::npos) << s.error_message();
  v1::ListContainersResponse containers;
  ASSERT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), {}, &containers).ok());
  EXPECT_EQ(containers.containers_size(), 0);
  // The pod is unharmed.
  v1::PodSandboxStatusRequest st;
  st.set_pod_sandbox_id(p.podId);
  v1::PodSandboxStatusResponse status;
  ASSERT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), st, &status).ok());
  EXPECT_EQ(status.status().state(), v1::SANDBOX_READY);
}

// A pod with its own network whose container runs `sleep 3600` as uid 1000.
KubeletPod sleeper(KubeletPod p) {
  p.runAsUser = 1000;
  p.command = {"sleep", "3600"};
  return p;
}

TEST_F(KubeletTest, PodsWithTheirOwnNetworkMayBindLowPortsAndPing) {
  RunningPod p{KubeletRequests(sleeper(pod("unpriv", QosClass::BestEffort)), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(exec(p.containerId, {"cat", kPortSysctl}).stdout(), "0\n");
  EXPECT_EQ(exec(p.containerId, {"cat", kPingSysctl}).stdout(), "0\t2147483647\n");
  EXPECT_EQ(exec(p.containerId, {"id", "-u"}).stdout(), "1000\n");
  // Port 81 is 0x51; busybox nc listens on IPv6 where it can, so tcp6 too. The
  // listener goes before sh exits, or ExecSync would wait for its output.
  auto nc = exec(p.containerId, {"sh", "-c",
                                 "nc -l -p 81 & pid=$!; sleep 0.5; "
                                 "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qi ':0051 '; r=$?; "
                                 "kill $pid 2>/dev/null; exit $r"});
  EXPECT_EQ(nc.exit_code(), 0) << nc.stdout() << nc.stderr();
}

TEST_F(KubeletTest, APodsOwnSysctlWinsOverTheDefault) {
  auto spec = sleeper(pod("ownsysctl", QosClass::BestEffort));
  spec.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "1024"}};
  RunningPod p{KubeletRequests(spec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(exec(p.containerId, {"cat", kPortSysctl}).stdout(), "1024\n");
  EXPECT_EQ(exec(p.containerId, {"cat", kPingSysctl}).stdout(), "0\t2147483647\n");
}

TEST_F(KubeletTest, DisabledDefaultsLeaveTheKernelsValues) {
  ASSERT_NO_FATAL_FAILURE(restart("enable_unprivileged_ports = false\nenable_unprivileged_icmp = false"));
  RunningPod p{KubeletRequests(sleeper(pod("kerneldefault", QosClass::BestEffort)), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(exec(p.containerId, {"cat", kPortSysctl}).stdout(), "1024\n");
  EXPECT_EQ(exec(p.containerId, {"cat", kPingSysctl}).stdout(), "1\t0\n");
}

TEST_F(KubeletTest, HostNetworkPodLeavesTheHostsSysctlsAlone) {
  std::string port = slurpFile(kPortSysctl), ping = slurpFile(kPingSysctl);
  ASSERT_FALSE(port.empty() || ping.empty());
  auto spec = sleeper(pod("hostnet", QosClass::BestEffort));
  spec.hostNetwork = true;
  RunningPod p{KubeletRequests(spec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(p));
  EXPECT_EQ(exec(p.containerId, {"cat", kPortSysctl}).stdout(), port);
  EXPECT_EQ(exec(p.containerId, {"cat", kPingSysctl}).stdout(), ping);
  std::string portAfter = slurpFile(kPortSysctl), pingAfter = slurpFile(kPingSysctl);
  EXPECT_EQ(portAfter, port);
  EXPECT_EQ(pingAfter, ping);
  // A crixd that got it wrong must not leave the host changed.
  if (portAfter != port) std::ofstream(kPortSysctl) << port;
  if (pingAfter != ping) std::ofstream(kPingSysctl) << ping;
}

TEST_F(KubeletTest, StatsRepliesAreSafeForTheKubeletsStatsProvider) {
  RunningPod running{KubeletRequests(pod("running", QosClass::BestEffort), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(running));
  auto hostSpec = pod("hoststats", QosClass::BestEffort);
  hostSpec.hostNetwork = true;
  RunningPod host{KubeletRequests(hostSpec, node())};
  ASSERT_NO_FATAL_FAILURE(runPod(host));
  RunningPod stopped{KubeletRequests(pod("stopped", QosClass::BestEffort), node())};
  ASSERT_NO_FATAL_FAILURE(runPod(stopped));
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(stopped.podId);
  v1::StopPodSandboxResponse stopResp;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stop, &stopResp).ok());

  std::map<std::string, v1::PodSandboxStats> byId;
  for (const auto* p : {&running, &host, &stopped}) {
    v1::PodSandboxStatsRequest req;
    req.set_pod_sandbox_id(p->podId);
    v1::PodSandboxStatsResponse resp;
    auto s = d_->runtime()->PodSandboxStats(rpcContext(10000).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << p->kubelet.pod().name << ": " << s.error_message();
    EXPECT_TRUE(kubeletCanRead(resp.stats())) << p->kubelet.pod().name;
    byId[p->podId] = resp.stats();
  }
  const auto& net = byId[running.podId].linux().network();
  ASSERT_TRUE(byId[running.podId].linux().has_network()) << byId[running.podId].DebugString();
  EXPECT_EQ(net.default_interface().name(), "eth0");
  EXPECT_TRUE(net.default_interface().has_rx_bytes());
  EXPECT_FALSE(byId[host.podId].linux().has_network()) << byId[host.podId].DebugString();
  EXPECT_FALSE(byId[stopped.podId].linux().has_network()) << byId[stopped.podId].DebugString();

  v1::ListPodSandboxStatsResponse listed;
  ASSERT_TRUE(d_->runtime()->ListPodSandboxStats(rpcContext(10000).get(), {}, &listed).ok());
  std::set<std::string> seen;
  for (const auto& st : listed.stats()) {
    EXPECT_TRUE(kubeletCanRead(st));
    seen.insert(st.attributes().id());
    if (st.attributes().id() == running.podId) {
      EXPECT_EQ(st.linux().network().default_interface().name(), "eth0");
    }
    if (st.attributes().id() == host.podId || st.attributes().id() == stopped.podId) {
      EXPECT_FALSE(st.linux().has_network()) << st.DebugString();
    }
  }
  EXPECT_TRUE(seen.count(running.podId) && seen.count(host.podId)) << listed.DebugString();

  v1::ListContainerStatsResponse containers;
  ASSERT_TRUE(d_->runtime()->ListContainerStats(rpcContext(10000).get(), {}, &containers).ok());
  EXPECT_GE(containers.stats_size(), 2);
  for (const auto& st : containers.stats()) EXPECT_TRUE(kubeletCanRead(st));
}

}  // namespace
}  // namespace crix::test
