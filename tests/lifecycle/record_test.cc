// What is stored comes back whole: the container and pod rows.
#include <gtest/gtest.h>

#include "lifecycle/container.h"
#include "lifecycle/sandbox.h"

namespace crix::lifecycle {
namespace {

Container fullContainer() {
  Container c;
  c.id = "c0ffee";
  c.podId = "p0d";
  c.name = "k8s_app_web_default_uid_1";
  auto& k = c.config;
  k.name = "app";
  k.attempt = 1;
  k.image = "registry.local/app:1";
  k.command = {"/bin/sh", "-c"};
  k.args = {"sleep 3600"};
  k.envs = {"A=1", "B=two words"};
  k.workingDir = "/srv";
  k.mounts = {{"/data", "/var/lib/kubelet/pods/uid/volumes/data", true, "rslave"},
              {"/shared", "/mnt/shared", false, "rshared"}};
  k.devices = {{"/dev/xfuse", "/dev/fuse", "rw"}};
  k.labels = {{"io.kubernetes.container.name", "app"}};
  k.annotations = {{"io.kubernetes.container.hash", "1234abcd"}};
  k.logPath = "app/1.log";
  k.stdin = k.stdinOnce = k.tty = true;
  k.privileged = k.readonlyRootfs = k.noNewPrivs = true;
  k.runAsUser = 1000;
  k.runAsGroup = 0;  // set, and zero: must not come back unset
  k.runAsUsername = "app";
  k.supplementalGroups = {5, 6};
  k.capAdd = {"NET_ADMIN"};
  k.capDrop = {"ALL"};
  k.pidMode = 0;
  k.resources = {.cpuShares = 256,
                 .cpuQuota = 50000,
                 .cpuPeriod = 100000,
                 .memoryLimit = 64 << 20,
                 .pidsLimit = 99,
                 .cpusetCpus = "0-1",
                 .cpusetMems = "0",
                 .memorySwap = 128 << 20,
                 .hugepageLimits = {{"2MB", 0}, {"1GB", uint64_t{1} << 30}},
                 .unified = {{"memory.high", "1000000"}}};
  k.oomScoreAdj = 968;
  k.maskedPaths = {"/proc/kcore"};
  k.readonlyPaths = {"/proc/sys"};
  k.seccompProfile = "runtime/default";
  k.stopSignal = 3;
  k.apparmorProfile = "runtime/default";
  k.selinuxLabel = ":::";
  c.imageId = "sha256:abc";
  c.chainIds = {"sha256:l1", "sha256:l2"};
  c.state = ContainerState::Running;
  c.createdAt = 1;
  c.startedAt = 2;
  c.finishedAt = 3;
  c.exitCode = 137;
  c.reason = "OOMKilled";
  c.message = "out of memory";
  c.logPath = "/var/log/pods/x/app/1.log";
  c.bundle = "/run/crix/containers/c0ffee";
  c.handler = "runc";
  c.cgroupsPath = "/kubepods/burstable/poduid/c0ffee";
  c.pid = 4242;
  c.droppedLimits = {"hugepage limit 2MB: no hugetlb controller"};
  c.stopSignal = 3;
  return c;
}

TEST(ContainerRecord, RoundTripsWhole) {
  auto c = fullContainer();
  auto back = containerFromJson(toJson(c));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, c);
  EXPECT_EQ(toJson(*back), toJson(c));
}

TEST(ContainerRecord, UnsetOptionalsStayUnset) {
  Container c;
  c.id = "a";
  c.podId = "b";
  c.name = "n";
  auto back = containerFromJson(toJson(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(back->config.runAsUser.has_value());
  EXPECT_FALSE(back->config.runAsGroup.has_value());
}

TEST(ContainerRecord, FormatOneRowsStillLoad) {
  // What crix wrote before records had a version: part of the config.
  auto back = containerFromJson(
      R"({"id":"c1","podId":"p1","name":"k8s_a_p_ns_u_0","state":"exited","exitCode":2,"pid":7,)"
      R"("config":{"name":"a","attempt":0,"image":"img","command":["sh"],"tty":true,"labels":{"l":"v"}}})");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->state, ContainerState::Exited);
  EXPECT_EQ(back->exitCode, 2);
  EXPECT_EQ(back->config.command, std::vector<std::string>{"sh"});
  EXPECT_TRUE(back->config.tty);
  EXPECT_EQ(back->config.pidMode, 1);
  EXPECT_EQ(back->config.resources, spec::Resources{});
}

TEST(ContainerRecord, NewerAndCorruptRowsAreErrors) {
  EXPECT_FALSE(containerFromJson(R"({"version":99,"id":"c","podId":"p","name":"n","config":{}})"));
  EXPECT_FALSE(containerFromJson("not json"));
  EXPECT_FALSE(containerFromJson(R"({"id":"c"})"));
  EXPECT_FALSE(containerFromJson(R"({"id":1,"podId":"p","name":"n","config":{}})"));
}

TEST(PodRecord, RoundTripsWhole) {
  Sandbox s;
  s.id = "p0d";
  s.name = "k8s_POD_web_default_uid_1";
  auto& c = s.config;
  c.metadata = {"web", "uid", "default", 1};
  c.hostname = "web-0";
  c.logDirectory = "/var/log/pods/default_web_uid";
  c.dnsServers = {"10.96.0.10"};
  c.dnsSearches = {"default.svc.cluster.local"};
  c.dnsOptions = {"ndots:5"};
  c.portMappings = {{"udp", 53, 5353, "127.0.0.1"}};
  c.labels = {{"app", "web"}};
  c.annotations = {{"kubernetes.io/config.source", "file"}};
  c.cgroupParent = "/kubepods/burstable/poduid";
  c.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  c.network = NamespaceMode::Pod;
  c.pid = NamespaceMode::Pod;
  c.ipc = NamespaceMode::Node;
  c.userns = NamespaceMode::Pod;
  c.uidMappings = {{0, 100000, 65536}};
  c.gidMappings = {{0, 200000, 65536}};
  c.runtimeHandler = "runsc";
  c.privileged = true;
  c.apparmorProfile = "unconfined";
  c.selinuxLabel = "system_u:system_r:container_t:s0";
  s.state = SandboxState::NotReady;
  s.createdAt = 5;
  s.handler = "runsc";
  s.podDir = "/run/crix/pods/p0d";
  s.netnsPath = "/run/crix/netns/p0d";
  s.usernsPath = "/run/crix/userns/p0d";
  s.ipcnsPath = "/run/crix/ipcns/p0d";
  s.utsnsPath = "/run/crix/utsns/p0d";
  s.network = "crix";
  s.ips = {"10.85.0.7", "fd00::7"};
  s.infra = true;
  s.infraPid = 99;
  auto back = sandboxFromJson(toJson(s));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->config, s.config);
  EXPECT_EQ(toJson(*back), toJson(s));
  EXPECT_EQ(back->ipcnsPath, s.ipcnsPath);
  EXPECT_EQ(back->utsnsPath, s.utsnsPath);
  EXPECT_FALSE(sandboxFromJson(R"({"version":99,"id":"p","name":"n","state":"ready","createdAt":0,"config":{}})"));
}

}  // namespace
}  // namespace crix::lifecycle
