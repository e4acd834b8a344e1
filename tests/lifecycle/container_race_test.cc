// Concurrent start, stop, remove, get and list of the same containers
// (what a kubelet, crictl and the exit monitor do at once), round after
// round for about a second. The fake runtime ends a container when it is
// killed, and its exits reach the manager from a thread of their own.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "lifecycle/container_manager.h"
#include "lifecycle/manager_fixture.h"

namespace crix::lifecycle {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kThreads = 8;
constexpr int kOpsPerThread = 40;

// Collects what must not happen, from any thread.
class Findings {
 public:
  void add(std::string what) {
    std::lock_guard lock(mu_);
    if (list_.size() < 20) list_.push_back(std::move(what));
  }
  std::vector<std::string> list() {
    std::lock_guard lock(mu_);
    return list_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;
};

// A failure a racing caller may see: the container went, or is in another state.
void expectAllowed(Findings& findings, const char* op, const Result<>& r) {
  if (r || r.error().code() == Code::NotFound || r.error().code() == Code::FailedPrecondition) return;
  findings.add(std::string(op) + ": " + std::string(codeName(r.error().code())) + ": " + r.error().message());
}

// What the runtime was asked to do in a round's race.
struct Tally {
  int ops = 0, starts = 0, kills = 0, removes = 0;
};

void raceRound(uint32_t seed, Findings& findings, Tally& tally) {
  test::ManagerFixture f;
  f.runtime->setExitOnKill(true);
  const std::array<std::string, 2> ids = {f.addContainer(ContainerState::Created),
                                          f.addContainer(ContainerState::Running)};
  f.load();
  f.watchExits();
  std::array<std::atomic<bool>, 2> removed{};
  std::atomic<int> ops{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed * kThreads + t);
      for (int n = 0; n < kOpsPerThread && !(removed[0] && removed[1]); ++n) {
        ++ops;
        size_t i = rng() % ids.size();
        const std::string& id = ids[i];
        bool wasRemoved = removed[i];  // before the call: it must not come back after
        switch (rng() % 20) {
          case 0:
          case 1:
          case 2:
          case 3: expectAllowed(findings, "start", f.manager->start(id)); break;
          case 4:
          case 5:
          case 6:
          case 7: expectAllowed(findings, "stop", f.manager->stop(id, 1s)); break;
          case 8: {
            auto r = f.manager->remove(id);
            expectAllowed(findings, "remove", r);
            if (r) removed[i] = true;
            break;
          }
          case 9:
          case 10:
          case 11:
          case 12:
          case 13: {
            auto c = f.manager->get(id);
            if (c && wasRemoved) findings.add("get found a removed container");
            if (!c && c.error().code() != Code::NotFound)
              findings.add("get: " + std::string(codeName(c.error().code())) + ": " + c.error().message());
            break;
          }
          default: {
            auto all = f.manager->list({});
            bool listed = std::any_of(all.begin(), all.end(), [&](const Container& c) { return c.id == id; });
            if (listed && wasRemoved) findings.add("list showed a removed container");
            if (!std::is_sorted(all.begin(), all.end(),
                                [](const Container& a, const Container& b) { return a.createdAt < b.createdAt; }))
              findings.add("list is not oldest first");
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  tally.ops += ops;
  tally.starts += f.runtime->count("start");
  tally.kills += f.runtime->count("kill");
  tally.removes += f.runtime->count("remove");

  // Exits still on their way to the manager: check them all, as after an inotify overflow.
  f.manager->onExit("");
  auto rows = f.rows();
  auto listed = f.manager->list({});
  EXPECT_EQ(rows.size(), listed.size());
  for (const auto& c : listed) {
    auto row = rows.find(c.id);
    if (row == rows.end()) {
      ADD_FAILURE() << "container " << c.id << " is listed without a row";
      continue;
    }
    EXPECT_EQ(row->second.state, stateName(c.state)) << c.id;
    EXPECT_EQ(row->second.data, toJson(c)) << c.id;
    // The manager and the runtime agree on what runs.
    auto status = f.runtime->status(c.id).value_or("(deleted)");
    switch (c.state) {
      case ContainerState::Created: EXPECT_EQ(status, "created") << c.id; break;
      case ContainerState::Running: EXPECT_EQ(status, "running") << c.id; break;
      default: EXPECT_NE(status, "running") << c.id; break;
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!removed[i]) continue;
    EXPECT_FALSE(rows.count(ids[i])) << "the row of a removed container came back";
    EXPECT_EQ(f.manager->get(ids[i]).error().code(), Code::NotFound);
  }
  // What is left still goes cleanly.
  for (const auto& id : ids) EXPECT_TRUE(f.manager->remove(id));
  EXPECT_TRUE(f.rows().empty());
  EXPECT_TRUE(f.manager->list({}).empty());
}

TEST(ContainerManagerRace, StartStopRemoveGetListOfTheSameContainers) {
  Findings findings;
  auto until = Clock::now() + 1s;
  int rounds = 0;
  Tally tally;
  for (uint32_t seed = 1; rounds < 3 || Clock::now() < until; ++seed, ++rounds) {
    raceRound(seed, findings, tally);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(findings.list(), std::vector<std::string>{});
  RecordProperty("rounds", rounds);
  RecordProperty("ops", tally.ops);
  RecordProperty("runtime_starts", tally.starts);
  RecordProperty("runtime_kills", tally.kills);
  RecordProperty("runtime_removes", tally.removes);
}

}  // namespace
}  // namespace crix::lifecycle
