// Rollback against the real crixd, conmon, runc and CNI plugins: a step of
// RunPodSandbox, CreateContainer or StopPodSandbox fails (CRIX_FAULT=fail:<point>,
// common/fault.h) while crixd keeps running. The call must fail with the
// injected error, leave nothing behind on the host or in the lists, and
// succeed when asked again.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "common/fault.h"
#include "integration/recovery_fixture.h"

namespace crix::test {
namespace {

// Cgroup directories crixd makes for pods and containers, in every hierarchy.
std::set<std::string> crixCgroups() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& hier : std::filesystem::directory_iterator("/sys/fs/cgroup", ec))
    for (const auto& e : std::filesystem::directory_iterator(hier.path() / "crix", ec))
      if (e.path().filename().string().starts_with("crix-")) out.insert(e.path().string());
  return out;
}

class RollbackTest : public RecoveryFixture {
 protected:
  std::unique_ptr<Daemon> startFailing(std::string_view point) {
    auto d = startArmed("fail:" + std::string(point));
    if (d) {
      EXPECT_TRUE(pullBusybox(*d).ok());
    }
    return d;
  }

  // The host as it was before the test, while crixd still runs.
  void expectClean(Daemon& d, const std::string& when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(HostState::take(tmp_.path(), {}).describe(), before_.describe()) << d.log();
    EXPECT_EQ(crixCgroups(), cgroupsBefore_);
  }

  static void expectInjected(const grpc::Status& s, std::string_view point) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
    EXPECT_NE(s.error_message().find("fault injected at " + std::string(point)), std::string::npos)
        << s.error_message();
  }

  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0711);  // reachable by a user-namespaced pod's root
    RecoveryFixture::SetUp();
    before_ = HostState::take(tmp_.path(), {});
    cgroupsBefore_ = crixCgroups();
  }

  HostState before_;
  std::set<std::string> cgroupsBefore_;
};

TEST_F(RollbackTest, AFailedStepOfRunPodSandboxLeavesNothing) {
  for (auto point : faultPoints()) {
    if (!point.starts_with("pod-")) continue;
    for (int variant : {0, 1, 2}) {
      bool infra = variant != 1;
      userns_ = variant == 2;
      if (!infra && point.starts_with("pod-after-infra")) continue;  // no infra container, no such step
      SCOPED_TRACE(std::string(point) + (!infra    ? " without infra"
                                         : userns_ ? " with infra and userns"
                                                   : " with infra"));
      auto d = startFailing(point);
      ASSERT_TRUE(d);
      std::string id;
      expectInjected(runPod(*d, "p", &id, infra), point);
      EXPECT_TRUE(listPods(*d).empty());
      expectClean(*d, "after the failed RunPodSandbox");

      // The name was given back and nothing in the way was left: the same
      // pod runs now, and is whole.
      auto again = runPod(*d, "p", &id, infra);
      ASSERT_TRUE(again.ok()) << again.error_message() << d->log();
      auto pods = listPods(*d);
      ASSERT_EQ(pods.size(), 1u);
      EXPECT_EQ(pods[0].state(), v1::SANDBOX_READY);
      EXPECT_TRUE(std::filesystem::exists(tmp_ / ("d/run/netns/" + id)));
      removeAll(*d);
      expectClean(*d, "after removing the pod");
      EXPECT_EQ(d->stop(), 0);
    }
  }
}

TEST_F(RollbackTest, AFailedStepOfCreateContainerLeavesNothing) {
  for (auto point : faultPoints()) {
    if (!point.starts_with("ctr-")) continue;
    SCOPED_TRACE(std::string(point));
    auto d = startFailing(point);
    ASSERT_TRUE(d);
    std::string pod, ctr;
    ASSERT_TRUE(runPod(*d, "p", &pod).ok()) << d->log();
    auto withPod = HostState::take(tmp_.path(), {});
    auto cgroupsWithPod = crixCgroups();
    expectInjected(createContainer(*d, pod, "p", &ctr), point);
    EXPECT_TRUE(listContainers(*d).empty());
    // Nothing of the container: no rootfs mount, bundle, conmon, exit file or cgroup.
    EXPECT_EQ(HostState::take(tmp_.path(), {}).describe(), withPod.describe()) << d->log();
    EXPECT_EQ(crixCgroups(), cgroupsWithPod);

    auto again = createContainer(*d, pod, "p", &ctr);
    ASSERT_TRUE(again.ok()) << again.error_message() << d->log();
    ASSERT_TRUE(startContainer(*d, ctr).ok());
    auto ctrs = listContainers(*d);
    ASSERT_EQ(ctrs.size(), 1u);
    EXPECT_EQ(ctrs[0].state(), v1::CONTAINER_RUNNING);
    removeAll(*d);
    expectClean(*d, "after removing the pod");
    EXPECT_EQ(d->stop(), 0);
  }
}

TEST_F(RollbackTest, AFailedStepOfStopPodSandboxCanBeRetried) {
  for (auto point : faultPoints()) {
    if (!point.starts_with("stop-")) continue;
    SCOPED_TRACE(std::string(point));
    auto d = startFailing(point);
    ASSERT_TRUE(d);
    std::string pod, ctr;
    ASSERT_TRUE(runPod(*d, "p", &pod).ok()) << d->log();
    ASSERT_TRUE(createContainer(*d, pod, "p", &ctr).ok()) << d->log();
    ASSERT_TRUE(startContainer(*d, ctr).ok());
    expectInjected(stopPod(*d, pod), point);

    // Asked again, the stop finishes what the failed one left.
    auto again = stopPod(*d, pod);
    ASSERT_TRUE(again.ok()) << again.error_message() << d->log();
    auto pods = listPods(*d);
    ASSERT_EQ(pods.size(), 1u);
    EXPECT_EQ(pods[0].state(), v1::SANDBOX_NOTREADY);
    EXPECT_FALSE(std::filesystem::exists(tmp_ / ("d/run/netns/" + pod)));
    auto h = HostState::take(tmp_.path(), {});
    EXPECT_EQ(h.bridgePorts, before_.bridgePorts);
    EXPECT_EQ(h.leases, before_.leases);
    removeAll(*d);
    expectClean(*d, "after removing the pod");
    EXPECT_EQ(d->stop(), 0);
  }
}

}  // namespace
}  // namespace crix::test
