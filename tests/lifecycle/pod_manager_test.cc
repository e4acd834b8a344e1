// RunPodSandbox, StopPodSandbox, RemovePodSandbox and start-up's roll-back
// over the fake network and the fake host: what a pod pins and mounts, the
// order its undo runs in when a step fails, and that nothing stays behind.
#include "lifecycle/pod_manager.h"

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "lifecycle/manager_fixture.h"
#include "sys/fs.h"

namespace crix::lifecycle {
namespace {

using Call = test::FakeHostOps::Call;

PodConfig podConfig(const std::string& name) {
  PodConfig c;
  c.metadata = {name, "uid-" + name, "default", 0};
  c.hostname = name + "-host";
  return c;
}

// Each test loads the fixture (the crash test after it wrote its rows).
class PodManagerTest : public ::testing::Test {
 protected:
  const Paths paths() const { return f.cfg.paths(); }
  // The pod rows' state columns, by id.
  std::map<std::string, std::string> podRows() {
    std::map<std::string, std::string> out;
    auto read = f.db->read([&](store::Tables& t) -> Result<> {
      for (auto& r : TRY(t.listSandboxes())) out[r.id] = r.state;
      return {};
    });
    EXPECT_TRUE(read);
    return out;
  }
  // The host calls from the `n`-th on.
  std::vector<Call> callsFrom(size_t n) {
    auto all = f.host->calls();
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(n, all.size())), all.end()};
  }

  test::ManagerFixture f;
};

TEST_F(PodManagerTest, APodPinsItsNetworkIpcAndUtsNamespacesAndMountsItsShm) {
  f.load();
  auto id = f.pods->run(podConfig("web"));
  ASSERT_TRUE(id) << id.error().message();
  auto pod = f.pods->get(*id);
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->netnsPath, paths().podNetns(*id));
  EXPECT_EQ(pod->ipcnsPath, paths().podIpcns(*id));
  EXPECT_EQ(pod->utsnsPath, paths().podUtsns(*id));
  EXPECT_EQ(f.host->pinned(), (std::set<std::string>{pod->netnsPath, pod->ipcnsPath, pod->utsnsPath}));
  // The UTS namespace carries the pod's hostname.
  EXPECT_EQ(sys::readFile(pod->utsnsPath).value_or(""), "uts web-host");
  EXPECT_EQ(f.host->shmMounts(), (std::set<std::string>{paths().podShm(*id)}));
  EXPECT_TRUE(f.network.attached(*id));
  EXPECT_EQ(podRows()[*id], "ready");
  // No pid namespace shared: no infra container, so no rootfs.
  EXPECT_FALSE(pod->infra);
  EXPECT_EQ(f.host->count("mountRootfs"), 0);
}

TEST_F(PodManagerTest, APrivilegedPodHoldsAWritableSysfsUntilItStops) {
  f.load();
  auto c = podConfig("priv");
  c.privileged = true;
  auto id = f.pods->run(c);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(f.host->sysfsMounts(), (std::set<std::string>{paths().podSysfs(*id)}));
  auto plain = f.pods->run(podConfig("plain"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(f.host->sysfsMounts().size(), 1u);  // only privileged pods hold one
  ASSERT_TRUE(f.pods->stop(*id));
  EXPECT_TRUE(f.host->sysfsMounts().empty());
}

TEST_F(PodManagerTest, HostNamespacesAreNotPinned) {
  f.load();
  auto c = podConfig("hostly");
  c.network = NamespaceMode::Node;
  c.ipc = NamespaceMode::Node;
  c.hostname.clear();
  auto id = f.pods->run(c);
  ASSERT_TRUE(id) << id.error().message();
  auto pod = f.pods->get(*id);
  ASSERT_TRUE(pod);
  EXPECT_TRUE(pod->netnsPath.empty());
  EXPECT_TRUE(pod->ipcnsPath.empty());
  EXPECT_TRUE(pod->utsnsPath.empty());
  EXPECT_TRUE(f.host->pinned().empty());
  EXPECT_TRUE(f.host->shmMounts().empty());
  EXPECT_EQ(f.host->count("createIpcUts"), 0);
  EXPECT_EQ(f.network.count("add"), 0);

  // Its own IPC, the host's network: IPC pinned, UTS the host's.
  auto d = podConfig("ipc-only");
  d.network = NamespaceMode::Node;
  d.hostname.clear();
  auto other = f.pods->run(d);
  ASSERT_TRUE(other) << other.error().message();
  EXPECT_EQ(f.host->pinned(), (std::set<std::string>{paths().podIpcns(*other)}));
}

TEST_F(PodManagerTest, AFailedStepUndoesTheOnesBeforeItInReverse) {
  f.cfg.unprivilegedPorts = f.cfg.unprivilegedIcmp = false;
  f.load();
  size_t before = f.host->calls().size();
  f.host->failNext("mountShm", Error(Code::Internal, "no tmpfs today"));
  auto id = f.pods->run(podConfig("web"));
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message().find("no tmpfs today"), std::string::npos) << id.error().message();

  auto calls = callsFrom(before);
  ASSERT_GE(calls.size(), 4u);
  std::string podId = calls.front().arg.substr(calls.front().arg.rfind('/') + 1);
  const Paths p = paths();
  std::vector<Call> want = {
      {"createNetns", p.podNetns(podId)},
      {"createIpcUts", p.podIpcns(podId) + "|" + p.podUtsns(podId)},
      {"mountShm", p.podShm(podId)},
      // the undo, last step first (CNI DEL comes between, in the network's log)
      {"unpin", p.podIpcns(podId)},
      {"unpin", p.podUtsns(podId)},
      {"unpin", p.podNetns(podId)},
  };
  EXPECT_EQ(calls, want);
  EXPECT_EQ(f.network.count("del"), 1);
  EXPECT_FALSE(f.network.attached(podId));
  EXPECT_TRUE(f.host->pinned().empty());
  EXPECT_FALSE(std::filesystem::exists(p.podDir(podId)));
  EXPECT_EQ(podRows().count(podId), 0u);
  // The name is free again.
  auto again = f.pods->run(podConfig("web"));
  EXPECT_TRUE(again) << again.error().message();
}

TEST_F(PodManagerTest, APodOnTheHostsNetworkTakesNoHostnameOfItsOwn) {
  f.load();
  auto c = podConfig("named");
  c.network = NamespaceMode::Node;
  auto id = f.pods->run(c);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), Code::InvalidArgument);
  EXPECT_NE(id.error().message().find("\"named-host\" cannot be set"), std::string::npos) << id.error().message();
  EXPECT_EQ(f.host->count("createNetns"), 0);
  EXPECT_EQ(podRows().size(), 1u);  // the fixture's own pod only
}

TEST_F(PodManagerTest, PinningIpcAndUtsThatFailsLeavesNothing) {
  f.load();
  f.host->failNext("createIpcUts", Error(Code::Internal, "unshare: EPERM"));
  auto id = f.pods->run(podConfig("web"));
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message().find("unshare: EPERM"), std::string::npos) << id.error().message();
  EXPECT_TRUE(f.host->pinned().empty());
  EXPECT_EQ(f.network.count("add"), f.network.count("del"));
  EXPECT_EQ(podRows().size(), 1u);  // the fixture's own pod only
}

TEST_F(PodManagerTest, StopReleasesNamespacesAndShmAndRemoveTheRest) {
  f.load();
  auto id = f.pods->run(podConfig("web"));
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(f.pods->stop(*id));
  EXPECT_TRUE(f.host->pinned().empty());
  EXPECT_TRUE(f.host->shmMounts().empty());
  EXPECT_FALSE(f.network.attached(*id));
  EXPECT_EQ(podRows()[*id], "notready");
  EXPECT_EQ(f.pods->get(*id)->state, SandboxState::NotReady);
  ASSERT_TRUE(f.pods->stop(*id));  // again: nothing to do
  ASSERT_TRUE(f.pods->remove(*id));
  EXPECT_EQ(podRows().count(*id), 0u);
  EXPECT_FALSE(std::filesystem::exists(paths().podDir(*id)));
  EXPECT_FALSE(f.pods->get(*id));
}

TEST_F(PodManagerTest, AResizeIsKeptInThePodsRowUntilThePodStops) {
  f.load();
  auto config = podConfig("web");
  config.resources.cpuShares = 256;
  config.resources.memoryLimit = 64 << 20;
  config.overhead.cpuShares = 10;
  auto id = f.pods->run(config);
  ASSERT_TRUE(id) << id.error().message();
  spec::Resources resized;
  resized.memoryLimit = 128 << 20;
  spec::Resources overhead;
  overhead.memoryLimit = 8 << 20;
  ASSERT_TRUE(f.pods->updateResources(id->substr(0, 12), resized, overhead)) << "by unique prefix";

  Sandbox fromRow;
  auto read = f.db->read([&](store::Tables& t) -> Result<> {
    for (auto& r : TRY(t.listSandboxes()))
      if (r.id == *id) fromRow = TRY(sandboxFromJson(r.data));
    return {};
  });
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(fromRow.config.resources.cpuShares, 256) << "left unset by the update: kept";
  EXPECT_EQ(fromRow.config.resources.memoryLimit, 128 << 20);
  EXPECT_EQ(fromRow.config.overhead.cpuShares, 10);
  EXPECT_EQ(fromRow.config.overhead.memoryLimit, 8 << 20);
  EXPECT_EQ(f.pods->get(*id)->config.resources, fromRow.config.resources);

  EXPECT_EQ(f.pods->updateResources("0123456789abcdef", resized, overhead).error().code(), Code::NotFound);
  ASSERT_TRUE(f.pods->stop(*id));
  auto stopped = f.pods->updateResources(*id, resized, overhead);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code(), Code::FailedPrecondition);
}

TEST_F(PodManagerTest, StartUpRollsBackAPodACrashCaughtInRunPodSandbox) {
  // What a crash after the namespaces were pinned leaves: pins and a "creating" row.
  Sandbox s;
  s.id = "c0ffee0000000000000000000000000000000000000000000000000000000001";
  s.config = podConfig("crashed");
  s.name = podName(s.config.metadata);
  s.handler = "runc";
  s.podDir = paths().podDir(s.id);
  s.netnsPath = paths().podNetns(s.id);
  s.ipcnsPath = paths().podIpcns(s.id);
  s.utsnsPath = paths().podUtsns(s.id);
  for (const auto& dir : {paths().netnsDir(), paths().ipcnsDir(), paths().utsnsDir()})
    ASSERT_TRUE(sys::mkdirAll(dir, 0755));
  ASSERT_TRUE(f.host->createNetns(s.netnsPath, ""));
  ASSERT_TRUE(f.host->createIpcUts(s.ipcnsPath, s.utsnsPath, "crashed-host", ""));
  ASSERT_TRUE(f.db->write([&](store::Tables& t) { return t.putSandbox({s.id, s.name, "creating", 1, toJson(s)}); }));

  f.load();
  ASSERT_TRUE(f.pods->recover());
  EXPECT_TRUE(f.host->pinned().empty());
  EXPECT_EQ(podRows().count(s.id), 0u);
  EXPECT_FALSE(f.pods->get(s.id));
}

}  // namespace
}  // namespace crix::lifecycle
