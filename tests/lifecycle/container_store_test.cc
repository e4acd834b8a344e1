// The container store and its entries: names, id prefixes, writes that
// change the state only once persisted, retirement, and exit waits.
#include "lifecycle/container_store.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace crix::lifecycle {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

EntryPtr entry(const std::string& id, int64_t createdAt = 1, ContainerState state = ContainerState::Created) {
  Container c;
  c.id = id;
  c.podId = "pod";
  c.name = "k8s_" + id;
  c.createdAt = createdAt;
  c.state = state;
  return std::make_shared<ContainerEntry>(c);
}

Result<> persistOk(const Container&) {
  return {};
}

auto setState(ContainerState s) {
  return [s](Container& c) {
    c.state = s;
    return true;
  };
}

TEST(ContainerStore, ReservedNameIsTakenUntilItsHolderUnreserves) {
  ContainerStore store;
  ASSERT_TRUE(store.reserve("k8s_app", "aaa"));
  EXPECT_TRUE(store.reserve("k8s_app", "aaa")) << "the holder may reserve it again";
  auto taken = store.reserve("k8s_app", "bbb");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), Code::AlreadyExists);
  EXPECT_NE(taken.error().message().find("k8s_app"), std::string::npos) << taken.error().message();
  EXPECT_NE(taken.error().message().find("taken by aaa"), std::string::npos) << taken.error().message();

  store.unreserve("k8s_app", "bbb");  // not the holder: no effect
  EXPECT_FALSE(store.reserve("k8s_app", "bbb"));
  store.unreserve("k8s_app", "aaa");
  EXPECT_TRUE(store.reserve("k8s_app", "bbb"));
}

TEST(ContainerStore, AddedEntryHoldsItsNameAndEraseFreesIt) {
  ContainerStore store;
  auto e = entry("aaa");
  store.add(e);
  auto taken = store.reserve(e->name(), "bbb");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), Code::AlreadyExists);
  EXPECT_NE(taken.error().message().find("aaa"), std::string::npos) << taken.error().message();
  store.erase(e);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(store.reserve(e->name(), "bbb"));
  EXPECT_FALSE(store.find("aaa"));
}

TEST(ContainerStore, FindsByIdOrUniquePrefix) {
  ContainerStore store;
  for (const auto* id : {"abc123", "abd456", "abd4567", "fff"}) store.add(entry(id));

  auto full = store.find("abc123");
  ASSERT_TRUE(full);
  EXPECT_EQ((*full)->id(), "abc123");
  auto unique = store.find("abc");
  ASSERT_TRUE(unique);
  EXPECT_EQ((*unique)->id(), "abc123");
  auto exact = store.find("abd456");  // also a prefix of abd4567: the exact id wins
  ASSERT_TRUE(exact);
  EXPECT_EQ((*exact)->id(), "abd456");

  auto ambiguous = store.find("ab");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code(), Code::InvalidArgument);
  EXPECT_EQ(store.find("abd45").error().code(), Code::InvalidArgument);

  EXPECT_EQ(store.find("abe").error().code(), Code::NotFound);
  EXPECT_EQ(store.find("0").error().code(), Code::NotFound);
  EXPECT_EQ(store.find("zzz").error().code(), Code::NotFound);
  EXPECT_EQ(store.find("").error().code(), Code::NotFound);
}

TEST(ContainerStore, AllIsOldestFirst) {
  ContainerStore store;
  store.add(entry("aaa", 30));
  store.add(entry("bbb", 10));
  store.add(entry("ccc", 20));
  std::vector<std::string> ids;
  for (const auto& e : store.all()) ids.push_back(e->id());
  EXPECT_EQ(ids, (std::vector<std::string>{"bbb", "ccc", "aaa"}));
}

TEST(ContainerEntry, UpdateChangesTheStateOnlyOncePersisted) {
  auto e = entry("aaa");
  auto failed = e->update(setState(ContainerState::Running),
                          [](const Container&) -> Result<> { return fail(Code::Internal, "disk full"); });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), Code::Internal);
  EXPECT_EQ(e->snapshot().state, ContainerState::Created);

  ContainerState persisted = ContainerState::Unknown;
  ASSERT_TRUE(e->update(setState(ContainerState::Running), [&](const Container& c) -> Result<> {
    persisted = c.state;
    return {};
  }));
  EXPECT_EQ(persisted, ContainerState::Running) << "persist sees the new state";
  EXPECT_EQ(e->snapshot().state, ContainerState::Running);
}

TEST(ContainerEntry, UnchangedUpdateIsNotPersisted) {
  auto e = entry("aaa");
  bool persisted = false;
  ASSERT_TRUE(e->update([](Container&) { return false; },
                        [&](const Container&) -> Result<> {
                          persisted = true;
                          return {};
                        }));
  EXPECT_FALSE(persisted);
}

TEST(ContainerEntry, RetiredEntryIsNeverWrittenAgain) {
  auto e = entry("aaa");
  int deletes = 0;
  auto deleteRow = [&]() -> Result<> {
    ++deletes;
    return {};
  };
  ASSERT_TRUE(e->retire(deleteRow));
  EXPECT_TRUE(e->retired());
  ASSERT_TRUE(e->retire(deleteRow)) << "retiring twice is fine";
  EXPECT_EQ(deletes, 1);

  bool changed = false, persisted = false;
  auto late = e->update(
      [&](Container& c) {
        changed = true;
        c.state = ContainerState::Exited;
        return true;
      },
      [&](const Container&) -> Result<> {
        persisted = true;
        return {};
      });
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), Code::NotFound);
  EXPECT_FALSE(changed);
  EXPECT_FALSE(persisted);
}

TEST(ContainerEntry, FailedRetireLeavesTheEntryLive) {
  auto e = entry("aaa");
  auto failed = e->retire([]() -> Result<> { return fail(Code::Internal, "database locked"); });
  ASSERT_FALSE(failed);
  EXPECT_FALSE(e->retired());
  EXPECT_TRUE(e->update(setState(ContainerState::Running), persistOk));
}

TEST(ContainerEntry, WaitExitedWakesAtOnceWhenAnotherThreadRecordsTheExit) {
  auto e = entry("aaa", 1, ContainerState::Running);
  std::thread exiter([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(e->update(setState(ContainerState::Exited), persistOk));
  });
  auto start = Clock::now();
  bool exited = e->waitExited(20s, nullptr, nullptr);
  auto took = Clock::now() - start;
  exiter.join();
  EXPECT_TRUE(exited);
  EXPECT_LT(took, 2s) << "woken by the update, not by the 20 s limit";
}

TEST(ContainerEntry, WaitExitedWakesWhenTheEntryRetires) {
  auto e = entry("aaa", 1, ContainerState::Running);
  std::thread remover([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(e->retire([]() -> Result<> { return {}; }));
  });
  auto start = Clock::now();
  EXPECT_TRUE(e->waitExited(20s, nullptr, nullptr));
  EXPECT_LT(Clock::now() - start, 2s);
  remover.join();
}

TEST(ContainerEntry, WaitExitedReturnsFalseAtTheLimit) {
  auto e = entry("aaa", 1, ContainerState::Running);
  auto start = Clock::now();
  EXPECT_FALSE(e->waitExited(300ms, nullptr, nullptr));
  auto took = Clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
}

TEST(ContainerEntry, WaitExitedStopsEarlyWhenTheCallerGoes) {
  auto e = entry("aaa", 1, ContainerState::Running);
  std::atomic<bool> gone{false};
  std::thread leaver([&] {
    std::this_thread::sleep_for(100ms);
    gone = true;
  });
  auto start = Clock::now();
  EXPECT_FALSE(e->waitExited(
      20s, [&] { return gone.load(); }, nullptr));
  EXPECT_LT(Clock::now() - start, 3s) << "noticed within a slice, long before the limit";
  leaver.join();
  EXPECT_EQ(e->snapshot().state, ContainerState::Running);
}

TEST(ContainerEntry, WaitExitedPollsForExitsNobodySignalled) {
  auto e = entry("aaa", 1, ContainerState::Running);
  int polls = 0;
  auto poll = [&] {
    // The second poll finds the exit, as refresh() finds an exit file the monitor missed.
    if (++polls != 2) return;
    ASSERT_TRUE(e->update(setState(ContainerState::Exited), persistOk));
  };
  auto start = Clock::now();
  EXPECT_TRUE(e->waitExited(20s, nullptr, poll));
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(polls, 2);
}

TEST(ContainerEntry, WaitExitedOfAnExitedContainerReturnsAtOnce) {
  auto e = entry("aaa", 1, ContainerState::Exited);
  int polls = 0;
  EXPECT_TRUE(e->waitExited(20s, nullptr, [&] { ++polls; }));
  EXPECT_EQ(polls, 0);
}

}  // namespace
}  // namespace crix::lifecycle
