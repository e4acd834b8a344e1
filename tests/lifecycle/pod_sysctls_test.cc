#include "lifecycle/pod_sysctls.h"

#include <gtest/gtest.h>

namespace crix::lifecycle {
namespace {

using Map = std::map<std::string, std::string>;

bool everything(const std::string&) {
  return true;
}

TEST(PodSysctls, DefaultsOnAsInContainerd2) {
  config::Config cfg;
  EXPECT_EQ(podNetSysctls(cfg, {}, everything),
            (Map{{kUnprivilegedPortSysctl, "0"}, {kPingGroupSysctl, "0 2147483647"}}));
}

TEST(PodSysctls, ThePodsOwnWin) {
  config::Config cfg;
  Map pod{{kUnprivilegedPortSysctl, "1024"}, {"net.core.somaxconn", "1024"}, {"kernel.shm_rmid_forced", "1"}};
  EXPECT_EQ(
      podNetSysctls(cfg, pod, everything),
      (Map{{kUnprivilegedPortSysctl, "1024"}, {kPingGroupSysctl, "0 2147483647"}, {"net.core.somaxconn", "1024"}}));
}

TEST(PodSysctls, EachDefaultCanBeTurnedOff) {
  config::Config cfg;
  cfg.unprivilegedPorts = false;
  EXPECT_EQ(podNetSysctls(cfg, {}, everything), (Map{{kPingGroupSysctl, "0 2147483647"}}));
  cfg.unprivilegedIcmp = false;
  EXPECT_TRUE(podNetSysctls(cfg, {}, everything).empty());
}

TEST(PodSysctls, AKernelWithoutTheSysctlGetsNoDefault) {
  config::Config cfg;
  auto onlyPing = [](const std::string& name) { return name == kPingGroupSysctl; };
  EXPECT_EQ(podNetSysctls(cfg, {}, onlyPing), (Map{{kPingGroupSysctl, "0 2147483647"}}));
}

TEST(PodSysctls, ThisKernel) {
  EXPECT_TRUE(kernelHasSysctl("net.ipv4.ping_group_range"));
  EXPECT_FALSE(kernelHasSysctl("net.ipv4.no_such_sysctl"));
}

}  // namespace
}  // namespace crix::lifecycle
