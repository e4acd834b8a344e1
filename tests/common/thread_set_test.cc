#include "common/thread_set.h"

#include <atomic>
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

namespace crix {
namespace {

using namespace std::chrono_literals;

TEST(ThreadSet, JoinAllWaitsForEveryThread) {
  std::atomic<int> ran{0};
  ThreadSet threads;
  for (int i = 0; i < 20; ++i)
    threads.start([&] {
      std::this_thread::sleep_for(10ms);
      ++ran;
    });
  threads.joinAll();
  EXPECT_EQ(ran, 20);
  EXPECT_EQ(threads.running(), 0u);
}

TEST(ThreadSet, TheDestructorJoins) {
  std::atomic<bool> finished{false};
  {
    ThreadSet threads;
    threads.start([&] {
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
  }
  EXPECT_TRUE(finished);
}

// What a thread's work holds (a socket, say) is gone by the time the thread
// counts as ended, and ended threads are joined as new ones start.
TEST(ThreadSet, ReleasesTheWorkBeforeItEnds) {
  ThreadSet threads;
  auto held = std::make_shared<int>(1);
  std::atomic<bool> go{false};
  threads.start([held, &go] {
    while (!go) std::this_thread::sleep_for(1ms);
  });
  EXPECT_EQ(threads.running(), 1u);
  EXPECT_EQ(held.use_count(), 2);
  go = true;
  for (int i = 0; i < 5000 && threads.running() > 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(threads.running(), 0u);
  EXPECT_EQ(held.use_count(), 1);
  for (int i = 0; i < 100; ++i) threads.start([] {});
  threads.joinAll();
  EXPECT_EQ(threads.running(), 0u);
}

}  // namespace
}  // namespace crix
