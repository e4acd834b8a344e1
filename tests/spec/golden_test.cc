// Golden files: the whole config.json for representative containers, so
// that any change to the spec shows up in review as a diff of the files in
// tests/spec/golden/. CRIX_UPDATE_GOLDEN=1 rewrites them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "spec/container_spec.h"

namespace crix::spec {
namespace {

std::string goldenPath(const std::string& name) {
  return std::string(CRIX_SOURCE_DIR) + "/tests/spec/golden/" + name;
}

void expectGolden(const std::string& name, const nlohmann::json& got) {
  std::string text = got.dump(2) + "\n";
  if (std::getenv("CRIX_UPDATE_GOLDEN")) {
    std::ofstream(goldenPath(name)) << text;
    return;
  }
  std::ifstream in(goldenPath(name));
  ASSERT_TRUE(in) << "missing " << goldenPath(name) << ": run with CRIX_UPDATE_GOLDEN=1";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(text, want.str()) << name << " differs; if the change is meant, run with CRIX_UPDATE_GOLDEN=1";
}

ContainerSpecInput base() {
  ContainerSpecInput in;
  in.rootfs = "/var/lib/crix/containers/c1/merged";
  in.args = {"/bin/sh", "-c", "echo hi"};
  in.env = {"PATH=/usr/bin:/bin", "HOSTNAME=web-0"};
  in.cwd = "/srv";
  in.uid = 1000;
  in.gid = 1000;
  in.additionalGids = {1000, 10};
  in.hostname = "web-0";
  in.netnsPath = "/run/crix/netns/p1";
  in.mounts = {{"/etc/hostname", "/run/crix/pods/p1/hostname", false, "rprivate"},
               {"/etc/hosts", "/run/crix/pods/p1/hosts", false, "rprivate"},
               {"/etc/resolv.conf", "/run/crix/pods/p1/resolv.conf", false, "rprivate"},
               {"/dev/shm", "/run/crix/pods/p1/shm", false, "rprivate"}};
  in.cgroupsPath = "/kubepods/besteffort/pod-p1/crix-c1";
  in.capabilities = defaultCapabilities();
  in.annotations = {{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "p1"}};
  return in;
}

TEST(GoldenSpec, ADefaultContainer) {
  expectGolden("default.json", buildContainerSpec(base()));
}

TEST(GoldenSpec, ALimitedHardenedContainerWithVolumesAndADevice) {
  auto in = base();
  in.readonlyRootfs = true;
  in.noNewPrivileges = true;
  in.oomScoreAdj = 1000;
  in.resources.cpuShares = 512;
  in.resources.cpuQuota = 50000;
  in.resources.cpuPeriod = 100000;
  in.resources.memoryLimit = 256 << 20;
  in.resources.pidsLimit = 1024;
  in.resources.cpusetCpus = "0-1";
  in.resources.memorySwap = 512 << 20;
  in.resources.hugepageLimits = {{"2MB", 4 << 20}};
  in.resources.unified = {{"memory.high", "200000000"}};
  in.capabilities = adjustCapabilities(defaultCapabilities(), {}, {"ALL"}, defaultCapabilities());
  in.mounts.push_back({"/data", "/var/lib/kubelet/pods/u1/volumes/data", true, "rslave"});
  in.devices = {{"/dev/fuse", 'c', 10, 229, 0666, "rw"}};
  in.seccomp = nlohmann::json{{"defaultAction", "SCMP_ACT_ERRNO"}, {"syscalls", nlohmann::json::array()}};
  in.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  expectGolden("hardened.json", buildContainerSpec(in));
}

TEST(GoldenSpec, APrivilegedContainerOnTheHostNetwork) {
  auto in = base();
  in.privileged = true;
  in.hostNetwork = true;
  in.hostPid = true;
  in.netnsPath.clear();
  in.uid = 0;
  in.gid = 0;
  in.additionalGids.clear();
  in.mounts.push_back({"/var/lib/kubelet", "/var/lib/kubelet", false, "rshared"});
  expectGolden("privileged.json", buildContainerSpec(in));
}

}  // namespace
}  // namespace crix::spec
