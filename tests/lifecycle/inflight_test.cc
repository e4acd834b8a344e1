// Retries that join the call still running: one run, a shared result, and
// abandonment only once every client has gone.
#include "lifecycle/inflight.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

namespace crix::lifecycle {
namespace {

using namespace std::chrono_literals;

// Spins until `done` or the deadline; false on the deadline.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A joiner's client that is still there, and that tells when it was first
// asked: a joiner asks its own while it waits, so it has joined by then.
struct Client {
  std::atomic<bool> asked{false}, gone{false};
  ClientGone predicate() {
    return [this] {
      asked = true;
      return gone.load();
    };
  }
};

TEST(InFlight, RetryJoinsTheRunningCallAndGetsItsResult) {
  InFlight inflight;
  std::atomic<int> runs{0};
  Client joiner;
  Result<std::string> first, second;
  std::thread runner([&] {
    first = runOrJoin(inflight, "k8s_app", {}, [&](const ClientGone&) -> Result<std::string> {
      ++runs;
      EXPECT_TRUE(eventually([&] { return joiner.asked.load(); })) << "the retry never joined";
      return std::string("c0ffee");
    });
  });
  // Joins once the first call has entered: its work counts the run.
  EXPECT_TRUE(eventually([&] { return runs.load() == 1; }));
  second = runOrJoin(inflight, "k8s_app", joiner.predicate(), [&](const ClientGone&) -> Result<std::string> {
    ++runs;
    return std::string("not this one");
  });
  runner.join();
  ASSERT_TRUE(first);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*first, "c0ffee");
  EXPECT_EQ(*second, "c0ffee");
  EXPECT_EQ(runs.load(), 1);
}

TEST(InFlight, RetryGetsTheRunningCallsError) {
  InFlight inflight;
  std::atomic<int> runs{0};
  Client joiner;
  Result<std::string> first, second;
  std::thread runner([&] {
    first = runOrJoin(inflight, "k8s_app", {}, [&](const ClientGone&) -> Result<std::string> {
      ++runs;
      EXPECT_TRUE(eventually([&] { return joiner.asked.load(); }));
      return fail(Code::Internal, "mount rootfs: no space left on device");
    });
  });
  EXPECT_TRUE(eventually([&] { return runs.load() == 1; }));
  second = runOrJoin(inflight, "k8s_app", joiner.predicate(), [&](const ClientGone&) -> Result<std::string> {
    ++runs;
    return std::string("not this one");
  });
  runner.join();
  ASSERT_FALSE(first);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::Internal);
  EXPECT_EQ(second.error().message(), first.error().message());
  EXPECT_EQ(runs.load(), 1);
}

TEST(InFlight, AbandonedOnlyWhenTheRunnerAndEveryJoinerHaveGone) {
  InFlight inflight;
  std::atomic<bool> runnerGone{false};
  auto entered = inflight.enter("k8s_app", [&] { return runnerGone.load(); });
  ASSERT_TRUE(entered.runner);
  auto call = entered.call;
  EXPECT_FALSE(call->abandoned());
  runnerGone = true;
  EXPECT_TRUE(call->abandoned()) << "no joiner: the runner's client alone decides";
  runnerGone = false;

  Client a, b;
  Result<std::string> resultA, resultB;
  auto joinA = inflight.enter("k8s_app", {});
  auto joinB = inflight.enter("k8s_app", {});
  ASSERT_FALSE(joinA.runner);
  ASSERT_FALSE(joinB.runner);
  ASSERT_EQ(joinA.call, call);
  std::thread ta([&] { resultA = joinA.call->wait(a.predicate()); });
  std::thread tb([&] { resultB = joinB.call->wait(b.predicate()); });
  ASSERT_TRUE(eventually([&] { return a.asked && b.asked; }));

  EXPECT_FALSE(call->abandoned()) << "nobody has gone";
  runnerGone = true;
  EXPECT_FALSE(call->abandoned()) << "the joiners still wait";
  a.gone = true;  // a's wait notices within its next slice and returns
  ta.join();
  ASSERT_FALSE(resultA);
  EXPECT_EQ(resultA.error().code(), Code::DeadlineExceeded);
  EXPECT_FALSE(call->abandoned()) << "b still waits";
  runnerGone = false;
  b.gone = true;
  tb.join();
  EXPECT_FALSE(call->abandoned()) << "the runner's client is still there";
  runnerGone = true;
  EXPECT_TRUE(call->abandoned());

  call->finish(std::string("late"));
  inflight.leave("k8s_app", call);
}

TEST(InFlight, JoinerWhoseClientGoesIsNeverAskedAgain) {
  InFlight inflight;
  std::atomic<bool> joined{false}, joinerGone{false};
  // The joiner's predicate points at its caller's state: once the joiner
  // has returned, calling it would read freed memory, so here it fails.
  auto left = std::make_shared<std::atomic<bool>>(false);
  ClientGone joinerClient = [&joined, &joinerGone, left] {
    if (*left) ADD_FAILURE() << "a joiner's ClientGone was called after the joiner returned";
    joined = true;
    return joinerGone.load();
  };
  std::atomic<bool> running{false};
  Result<std::string> first;
  std::thread runner([&] {
    // The runner's client has gone from the start: the call goes on only for the joiner.
    first = runOrJoin(
        inflight, "k8s_app", [] { return true; },
        [&](const ClientGone& abandoned) -> Result<std::string> {
          running = true;
          EXPECT_TRUE(eventually([&] { return joined.load(); }));
          EXPECT_FALSE(abandoned()) << "the joiner still waits";
          joinerGone = true;
          EXPECT_TRUE(eventually([&] { return left->load(); }));
          for (int i = 0; i < 100; ++i) (void)abandoned();
          TRY(checkpoint("ctr-after-rootfs", abandoned));
          return std::string("c0ffee");
        });
  });
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  auto second = runOrJoin(inflight, "k8s_app", joinerClient, [](const ClientGone&) -> Result<std::string> {
    ADD_FAILURE() << "the joiner ran the work";
    return std::string();
  });
  *left = true;
  runner.join();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::DeadlineExceeded);
  ASSERT_FALSE(first) << "every client has gone: the work stops at its next step";
  EXPECT_EQ(first.error().code(), Code::DeadlineExceeded);
}

TEST(InFlight, CallAfterLeaveRunsAfresh) {
  InFlight inflight;
  int runs = 0;
  auto work = [&](const ClientGone&) -> Result<std::string> { return "run " + std::to_string(++runs); };
  EXPECT_EQ(runOrJoin(inflight, "k8s_app", {}, work).value_or(""), "run 1");
  EXPECT_EQ(runOrJoin(inflight, "k8s_app", {}, work).value_or(""), "run 2");

  auto entered = inflight.enter("k8s_app", {});
  ASSERT_TRUE(entered.runner);
  entered.call->finish(std::string("x"));
  inflight.leave("k8s_app", entered.call);
  EXPECT_TRUE(inflight.enter("k8s_app", {}).runner);
}

TEST(InFlight, DifferentNamesDoNotJoin) {
  InFlight inflight;
  auto a = inflight.enter("k8s_a", {});
  auto b = inflight.enter("k8s_b", {});
  EXPECT_TRUE(a.runner);
  EXPECT_TRUE(b.runner);
  EXPECT_NE(a.call, b.call);
}

TEST(Checkpoint, FailsDeadlineExceededOnceAbandoned) {
  EXPECT_TRUE(checkpoint("ctr-after-rootfs", {}));
  EXPECT_TRUE(checkpoint("ctr-after-rootfs", [] { return false; }));
  auto gone = checkpoint("ctr-after-rootfs", [] { return true; });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), Code::DeadlineExceeded);
  EXPECT_NE(gone.error().message().find("ctr-after-rootfs"), std::string::npos) << gone.error().message();
}

}  // namespace
}  // namespace crix::lifecycle
