// ContainerManager's state machine over the fake runtime: start, stop and
// remove of containers loaded from their rows (no rootfs, no conmon).
#include "lifecycle/container_manager.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lifecycle/manager_fixture.h"

namespace crix::lifecycle {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = 10s) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// The signals the runtime was asked to send to `id`, in order.
std::vector<std::string> signals(const test::FakeOciRuntime& runtime, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& c : runtime.calls())
    if (c.op == "kill" && c.id == id) out.push_back(c.arg);
  return out;
}

const std::string kTerm = std::to_string(SIGTERM), kKill = std::to_string(SIGKILL);

// The events published so far.
std::vector<EventType> drain(const std::shared_ptr<EventBus::Subscription>& sub) {
  std::vector<EventType> out;
  while (auto e = sub->next(0ms)) out.push_back(e->type);
  return out;
}

// The next `n` events, in the order of the enum: publishers on different
// threads (the exit monitor's, the caller's) do not order theirs.
std::vector<EventType> nextSorted(const std::shared_ptr<EventBus::Subscription>& sub, size_t n) {
  std::vector<EventType> out;
  while (out.size() < n)
    if (auto e = sub->next(5s))
      out.push_back(e->type);
    else
      break;
  std::sort(out.begin(), out.end());
  return out;
}

class ContainerManagerTest : public ::testing::Test {
 protected:
  std::string rowState(const std::string& id) {
    auto rows = f.rows();
    auto it = rows.find(id);
    return it == rows.end() ? "(no row)" : it->second.state;
  }
  test::ManagerFixture f;
};

TEST_F(ContainerManagerTest, LoadsCreatedAndRunningRowsAsTheyWere) {
  auto created = f.addContainer(ContainerState::Created);
  auto running = f.addContainer(ContainerState::Running);
  f.load();
  auto all = f.manager->list({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, created);
  EXPECT_EQ(all[0].state, ContainerState::Created);
  EXPECT_EQ(all[1].id, running);
  EXPECT_EQ(all[1].state, ContainerState::Running);
}

TEST_F(ContainerManagerTest, StartOfCreatedRunsIt) {
  auto id = f.addContainer(ContainerState::Created);
  f.load();
  auto sub = f.events.subscribe();
  ASSERT_TRUE(f.manager->start(id.substr(0, 12))) << "by unique prefix";
  EXPECT_EQ(f.runtime->count("start", id), 1);
  EXPECT_EQ(f.runtime->status(id), "running");
  auto c = f.manager->get(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, ContainerState::Running);
  EXPECT_GT(c->startedAt, 0);
  EXPECT_EQ(rowState(id), "running");
  EXPECT_EQ(drain(sub), std::vector<EventType>{EventType::Started});
}

TEST_F(ContainerManagerTest, StartOfRunningIsFailedPrecondition) {
  auto id = f.addContainer(ContainerState::Running);
  f.load();
  auto again = f.manager->start(id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Code::FailedPrecondition);
  EXPECT_EQ(f.runtime->count("start"), 0);
  EXPECT_EQ(f.manager->start("0123456789abcdef").error().code(), Code::NotFound);
}

TEST_F(ContainerManagerTest, StartThatTheRuntimeRefusesLeavesItCreated) {
  auto id = f.addContainer(ContainerState::Created);
  f.load();
  f.runtime->failNext("start", Error(Code::Internal, "runc start: exec format error"));
  auto started = f.manager->start(id);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), Code::Internal);
  EXPECT_EQ(f.manager->get(id)->state, ContainerState::Created);
  EXPECT_EQ(rowState(id), "created");
  ASSERT_TRUE(f.manager->start(id)) << "a later start may still succeed";
  EXPECT_EQ(f.manager->get(id)->state, ContainerState::Running);
}

TEST_F(ContainerManagerTest, StopSendsSigtermAndReturnsWhenTheExitIsRecorded) {
  auto id = f.addContainer(ContainerState::Running);
  f.load();
  auto sub = f.events.subscribe();
  auto stopped = std::async(std::launch::async, [&] { return f.manager->stop(id, 60s); });
  ASSERT_TRUE(eventually([&] { return f.runtime->count("kill", id) > 0; }));
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kTerm});
  EXPECT_EQ(stopped.wait_for(300ms), std::future_status::timeout) << "stop returned before the container exited";

  f.runtime->exit(id, 0);
  auto exitedAt = Clock::now();
  f.manager->onExit(id);  // what the exit monitor does when conmon writes the exit file
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  EXPECT_LT(Clock::now() - exitedAt, 5s) << "stop waited for its timeout";
  ASSERT_TRUE(stopped.get());
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kTerm}) << "no SIGKILL after the exit";

  auto c = f.manager->get(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, ContainerState::Exited);
  EXPECT_EQ(c->exitCode, 0);
  EXPECT_EQ(c->reason, "Completed");
  EXPECT_GT(c->finishedAt, 0);
  EXPECT_EQ(rowState(id), "exited");
  EXPECT_EQ(drain(sub), std::vector<EventType>{EventType::Stopped});
  EXPECT_TRUE(f.manager->stop(id, 60s)) << "stopping an exited container is fine";
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kTerm});
}

TEST_F(ContainerManagerTest, StopPastItsTimeoutSendsSigkill) {
  auto id = f.addContainer(ContainerState::Running);
  f.load();
  auto stopped = std::async(std::launch::async, [&] { return f.manager->stop(id, 1s); });
  ASSERT_TRUE(eventually([&] { return f.runtime->count("kill", id) == 2; }));
  EXPECT_EQ(signals(*f.runtime, id), (std::vector{kTerm, kKill}));
  f.runtime->exit(id, 137);
  f.manager->onExit(id);
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(stopped.get());
  EXPECT_EQ(f.manager->get(id)->exitCode, 137);
}

TEST_F(ContainerManagerTest, StopWhoseClientGoesSendsNoSigkill) {
  auto id = f.addContainer(ContainerState::Running);
  f.load();
  std::atomic<bool> gone{false};
  auto stopped = std::async(std::launch::async, [&] { return f.manager->stop(id, 60s, [&] { return gone.load(); }); });
  ASSERT_TRUE(eventually([&] { return f.runtime->count("kill", id) > 0; }));
  gone = true;
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  auto r = stopped.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::DeadlineExceeded);
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kTerm});
  EXPECT_EQ(f.runtime->status(id), "running");
  EXPECT_EQ(f.manager->get(id)->state, ContainerState::Running);
}

TEST_F(ContainerManagerTest, StopOfCreatedNeverStartsIt) {
  auto id = f.addContainer(ContainerState::Created);
  f.load();
  ASSERT_TRUE(f.manager->stop(id, 10s));
  EXPECT_EQ(f.runtime->count("start"), 0);
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kKill}) << "nothing to wait for: its process never ran";
  EXPECT_EQ(f.runtime->status(id), std::nullopt) << "the runtime's state is deleted";
  auto c = f.manager->get(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, ContainerState::Exited);
  EXPECT_EQ(c->exitCode, 137);
  EXPECT_EQ(c->startedAt, 0);
  EXPECT_EQ(rowState(id), "exited");
  EXPECT_EQ(f.manager->start(id).error().code(), Code::FailedPrecondition);
}

TEST_F(ContainerManagerTest, RemoveDeletesEverythingAndRepeatsFine) {
  auto id = f.addContainer(ContainerState::Running);
  f.runtime->setExitOnKill(true);
  f.load();
  f.watchExits();
  auto sub = f.events.subscribe();
  std::string bundle = f.manager->get(id)->bundle;
  ASSERT_TRUE(f.manager->remove(id));
  EXPECT_EQ(signals(*f.runtime, id), std::vector{kKill}) << "removal stops without a grace period";
  EXPECT_EQ(f.runtime->status(id), std::nullopt);
  EXPECT_EQ(f.manager->get(id).error().code(), Code::NotFound);
  EXPECT_TRUE(f.manager->list({}).empty());
  EXPECT_TRUE(f.rows().empty());
  EXPECT_FALSE(std::filesystem::exists(bundle));
  EXPECT_EQ(nextSorted(sub, 2), (std::vector<EventType>{EventType::Stopped, EventType::Deleted}));

  EXPECT_TRUE(f.manager->remove(id)) << "removing a removed container is fine";
  EXPECT_TRUE(f.manager->stop(id, 1s)) << "so is stopping it";
  EXPECT_EQ(f.manager->start(id).error().code(), Code::NotFound);
}

TEST_F(ContainerManagerTest, RemoveThatTheRuntimeRefusesKeepsTheRow) {
  auto id = f.addContainer(ContainerState::Created);
  f.load();
  ASSERT_TRUE(f.manager->stop(id, 1s));
  f.runtime->failNext("remove", Error(Code::Internal, "runc delete: device or resource busy"));
  auto removed = f.manager->remove(id);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code(), Code::Internal);
  EXPECT_EQ(rowState(id), "exited");
  EXPECT_TRUE(f.manager->get(id));
  ASSERT_TRUE(f.manager->remove(id)) << "the kubelet's retry finishes the job";
  EXPECT_TRUE(f.rows().empty());
}

TEST_F(ContainerManagerTest, AnUpdateKeepsTheLimitsItLeavesUnsetAndWritesHugePagesItself) {
  f.controllers.mode = cgroups::HostMode::Hybrid;
  f.controllers.names = {"cpu", "memory", "hugetlb"};
  f.controllers.hugepageSizes = {"2MB"};
  auto id = f.addContainer(ContainerState::Running);
  f.load();
  spec::Resources first;
  first.cpuQuota = 50000;
  first.cpuPeriod = 100000;
  first.memoryLimit = 64 << 20;
  ASSERT_TRUE(f.manager->updateResources(id, first));
  EXPECT_EQ(f.host->count("setHugetlbLimits"), 0) << "no huge page limits asked for";

  spec::Resources second;
  second.memoryLimit = 96 << 20;
  second.hugepageLimits = {{"2MB", 4 << 20}};
  ASSERT_TRUE(f.manager->updateResources(id, second));
  std::string lastUpdate;
  for (const auto& c : f.runtime->calls())
    if (c.op == "update" && c.id == id) lastUpdate = c.arg;
  auto sent = nlohmann::json::parse(lastUpdate);
  EXPECT_EQ(sent["cpu"]["quota"], 50000) << "kept from the first update: " << lastUpdate;
  EXPECT_EQ(sent["memory"]["limit"], 96 << 20) << lastUpdate;
  auto c = f.manager->get(id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->config.resources.cpuQuota, 50000);
  EXPECT_EQ(c->config.resources.memoryLimit, 96 << 20);
  EXPECT_EQ(f.host->count("setHugetlbLimits"), 1);
  EXPECT_EQ(f.host->calls().back(), (test::FakeHostOps::Call{"setHugetlbLimits", c->cgroupsPath + "|2MB=4194304"}));

  // A write the cgroup refuses fails the call and leaves the record as it was.
  f.host->failNext("setHugetlbLimits", Error(Code::Internal, "hugetlb.2MB.limit_in_bytes: Device or resource busy"));
  spec::Resources third;
  third.memoryLimit = 128 << 20;
  third.hugepageLimits = {{"2MB", 0}};
  EXPECT_FALSE(f.manager->updateResources(id, third));
  EXPECT_EQ(f.manager->get(id)->config.resources.memoryLimit, 96 << 20);
}

TEST_F(ContainerManagerTest, ExecSyncRunsOnlyInRunningContainers) {
  auto running = f.addContainer(ContainerState::Running);
  auto created = f.addContainer(ContainerState::Created);
  f.load();
  auto r = f.manager->execSync(running, {"echo", "hi"}, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->out, "echo hi");
  EXPECT_EQ(f.runtime->count("exec", running), 1);
  EXPECT_EQ(f.manager->execSync(created, {"echo"}, 5s).error().code(), Code::FailedPrecondition);
  EXPECT_EQ(f.manager->execSync(running, {}, 5s).error().code(), Code::InvalidArgument);
}

}  // namespace
}  // namespace crix::lifecycle
