// PodManager::checkNetworks over the fake network: after a restart, a pod
// whose CNI CHECK fails is stopped (its containers first, then DEL and its
// namespace pin); a healthy one, or one on the host's network, is left alone.
#include <filesystem>

#include <gtest/gtest.h>

#include "lifecycle/manager_fixture.h"

namespace crix::lifecycle {
namespace {

class PodNetworkCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pod = f.addNetworkedPod();
    container = f.addContainer(ContainerState::Running, pod);
    f.runtime->setExitOnKill(true);
    f.load();
    f.watchExits();
    f.pods->setContainerHook([this](const std::string& id, bool remove) { return f.manager->forPod(id, remove); });
  }
  test::ManagerFixture f;
  std::string pod, container;
};

TEST_F(PodNetworkCheckTest, BrokenNetworkStopsThePodAndItsContainers) {
  std::string pin = f.pods->get(pod)->netnsPath;
  f.network.failNext("check", Error(Code::Internal, "veth0: link not found"));
  f.pods->checkNetworks({});

  auto calls = f.network.calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[calls.size() - 2], (test::FakeNetwork::Call{"check", pod}));
  EXPECT_EQ(calls.back(), (test::FakeNetwork::Call{"del", pod}));
  EXPECT_EQ(f.network.count("check"), 1) << "the host-network pod is not checked";
  EXPECT_FALSE(f.network.attached(pod));
  EXPECT_FALSE(std::filesystem::exists(pin));
  auto s = f.pods->get(pod);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, SandboxState::NotReady);
  EXPECT_EQ(f.manager->get(container)->state, ContainerState::Exited);
  EXPECT_EQ(f.pods->get(f.podId)->state, SandboxState::Ready);
}

TEST_F(PodNetworkCheckTest, HealthyNetworkLeavesThePodReady) {
  f.pods->checkNetworks({});
  EXPECT_EQ(f.network.count("check"), 1);
  EXPECT_EQ(f.network.count("del"), 0);
  EXPECT_TRUE(f.network.attached(pod));
  EXPECT_EQ(f.pods->get(pod)->state, SandboxState::Ready);
  EXPECT_EQ(f.manager->get(container)->state, ContainerState::Running);
  EXPECT_EQ(f.runtime->count("kill"), 0);
}

TEST_F(PodNetworkCheckTest, StopOfThePodReleasesItsNetworkOnce) {
  ASSERT_TRUE(f.pods->stop(pod));
  ASSERT_TRUE(f.pods->stop(pod)) << "a second stop is fine";
  EXPECT_EQ(f.network.count("del"), 1);
  EXPECT_FALSE(f.network.attached(pod));
  EXPECT_EQ(f.manager->get(container)->state, ContainerState::Exited);
}

}  // namespace
}  // namespace crix::lifecycle
