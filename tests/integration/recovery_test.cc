// Crash recovery against the real crixd, conmon, runc and CNI plugins:
// crixd is killed at every fault point in turn (common/fault.h), restarted,
// checked for consistency, emptied, and the host compared with before.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <thread>

#include "common/fault.h"
#include "integration/recovery_fixture.h"

namespace crix::test {
namespace {

// The operation that reaches a fault point, from its name.
enum class Op { Pull, RunPod, CreateContainer, StartContainer, StopPod };
Op opOf(std::string_view point) {
  if (point.starts_with("pull-")) return Op::Pull;
  if (point.starts_with("pod-")) return Op::RunPod;
  if (point.starts_with("ctr-")) return Op::CreateContainer;
  if (point.starts_with("start-")) return Op::StartContainer;
  return Op::StopPod;
}

using RecoveryTest = RecoveryFixture;

TEST_F(RecoveryTest, EveryFaultPointRecoversAndLeavesNothing) {
  auto before = HostState::take(tmp_.path(), cgroupIds_);
  for (auto point : faultPoints()) {
    SCOPED_TRACE(std::string(point));
    Op op = opOf(point);
    std::string pod, ctr;
    {
      auto d = startArmed(std::string(point));
      ASSERT_TRUE(d);
      bool died = false;
      if (op == Op::Pull) {
        died = !pullBusybox(*d).ok();
      } else {
        ASSERT_TRUE(pullBusybox(*d).ok());
        if (op == Op::RunPod) {
          died = !runPod(*d, "p", &pod).ok();
        } else {
          ASSERT_TRUE(runPod(*d, "p", &pod).ok()) << d->log();
          if (op == Op::CreateContainer) {
            died = !createContainer(*d, pod, "c", &ctr).ok();
          } else {
            ASSERT_TRUE(createContainer(*d, pod, "c", &ctr).ok()) << d->log();
            if (op == Op::StartContainer) {
              died = !startContainer(*d, ctr).ok();
            } else {
              ASSERT_TRUE(startContainer(*d, ctr).ok());
              died = !stopPod(*d, pod).ok();
            }
          }
        }
      }
      EXPECT_TRUE(died);
      EXPECT_EQ(d->stop(SIGKILL), -SIGKILL);
      EXPECT_NE(d->log().find("fault injected"), std::string::npos);
      rememberIds();
    }

    auto d = startDaemon(config_);
    ASSERT_TRUE(d && d->running());
    auto pods = listPods(*d);
    auto ctrs = listContainers(*d);
    // No half objects: an interrupted RunPodSandbox or CreateContainer is
    // gone; anything that persisted is whole.
    size_t wantPods = op == Op::Pull || (op == Op::RunPod && point != "pod-after-persist") ? 0 : 1;
    size_t wantCtrs =
        op == Op::Pull || op == Op::RunPod || (op == Op::CreateContainer && point != "ctr-after-persist") ? 0 : 1;
    EXPECT_EQ(pods.size(), wantPods) << d->log();
    EXPECT_EQ(ctrs.size(), wantCtrs) << d->log();
    if (op == Op::StartContainer && !ctrs.empty()) {
      EXPECT_EQ(ctrs[0].state(), v1::CONTAINER_RUNNING);
    }
    if (op == Op::StopPod && !pods.empty() && !ctrs.empty()) {
      // The interrupted stop was finished at start-up.
      EXPECT_EQ(pods[0].state(), v1::SANDBOX_NOTREADY);
      EXPECT_EQ(ctrs[0].state(), v1::CONTAINER_EXITED);
      EXPECT_FALSE(std::filesystem::exists(tmp_ / ("d/run/netns/" + pod)));
    }
    for (const auto& p : pods) {
      if (p.state() == v1::SANDBOX_READY) {
        EXPECT_TRUE(std::filesystem::exists(tmp_ / ("d/run/netns/" + p.id())));
      }
    }
    EXPECT_EQ(unlistedContainerProcesses(ctrs, pods), 0) << d->log();

    // Whatever is listed can be removed, and then nothing is left.
    removeAll(*d);
    EXPECT_EQ(d->stop(), 0);
    auto after = HostState::take(tmp_.path(), cgroupIds_);
    EXPECT_EQ(after.describe(), before.describe()) << d->log();
  }
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Many pods and containers starting at once, crixd SIGKILLed at a random
// moment, restarted, again and again; then what crixd lists is compared
// with what runs, everything removed and the host compared with before.
// CRIX_CHAOS_ROUNDS, CRIX_CHAOS_PODS and CRIX_CHAOS_MAX_MS scale it up.
TEST_F(RecoveryTest, ChaosKillsAtRandomMoments) {
  const int rounds = envInt("CRIX_CHAOS_ROUNDS", 3), podsPerRound = envInt("CRIX_CHAOS_PODS", 5);
  // Starting a pod and its container takes ~100 ms of a loaded 2-core
  // machine's time: the kill lands anywhere in the batch, or just after.
  const int maxMs = envInt("CRIX_CHAOS_MAX_MS", 100 * podsPerRound);
  std::mt19937 rng(static_cast<unsigned>(envInt("CRIX_CHAOS_SEED", static_cast<int>(::time(nullptr)))));
  auto before = HostState::take(tmp_.path(), cgroupIds_);
  int unlisted = 0, runningListed = 0;
  for (int round = 0; round < rounds; ++round) {
    auto d = startDaemon(config_);
    ASSERT_TRUE(d && d->running());
    if (round > 0) {
      // What the previous crixd left must be listed exactly.
      auto pods = listPods(*d);
      auto ctrs = listContainers(*d);
      int n = unlistedContainerProcesses(ctrs, pods);
      unlisted += n;
      EXPECT_EQ(n, 0) << "round " << round << "\n" << d->log();
    }
    ASSERT_TRUE(pullBusybox(*d).ok());
    std::vector<std::thread> starters;
    for (int i = 0; i < podsPerRound; ++i) {
      starters.emplace_back([&, i] {
        std::string name = "r" + std::to_string(round) + "-" + std::to_string(i), pod, ctr;
        if (!runPod(*d, name, &pod).ok()) return;
        if (!createContainer(*d, pod, name, &ctr).ok()) return;
        (void)startContainer(*d, ctr);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, maxMs)(rng)));
    d->stop(SIGKILL);
    for (auto& t : starters) t.join();
    rememberIds();
  }
  auto d = startDaemon(config_);
  ASSERT_TRUE(d && d->running());
  auto pods = listPods(*d);
  auto ctrs = listContainers(*d);
  for (const auto& c : ctrs) runningListed += c.state() == v1::CONTAINER_RUNNING;
  int n = unlistedContainerProcesses(ctrs, pods);
  unlisted += n;
  EXPECT_EQ(n, 0) << d->log();

  // Once more while everything is being stopped and removed at once, half
  // of the pods stopped first and racing their removal.
  {
    std::vector<std::thread> removers;
    for (size_t i = 0; i < pods.size(); ++i) {
      removers.emplace_back([&, i] {
        if (i % 2 == 0) (void)stopPod(*d, pods[i].id());
        v1::RemovePodSandboxRequest req;
        req.set_pod_sandbox_id(pods[i].id());
        v1::RemovePodSandboxResponse resp;
        (void)d->runtime()->RemovePodSandbox(rpcContext(60000).get(), req, &resp);
      });
      if (i % 2 == 0) removers.emplace_back([&, i] { (void)stopPod(*d, pods[i].id()); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, maxMs)(rng)));
    d->stop(SIGKILL);
    for (auto& t : removers) t.join();
    rememberIds();
  }
  d = startDaemon(config_);
  ASSERT_TRUE(d && d->running());
  unlisted += unlistedContainerProcesses(listContainers(*d), listPods(*d));
  removeAll(*d);
  EXPECT_EQ(d->stop(), 0);
  rememberIds();
  auto after = HostState::take(tmp_.path(), cgroupIds_);
  EXPECT_EQ(after.describe(), before.describe()) << d->log();
  // What recovery did over all rounds, from the daemons' shared log.
  std::string log = d->log();
  auto times = [&](const std::string& what) {
    int found = 0;
    for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++found;
    return found;
  };
  std::printf(
      "chaos: %d rounds x %d pods: %zu pods and %d running containers listed at the end; recovery rolled "
      "back %d pods and %d containers, found %d started containers, killed %d stray helpers' trees, "
      "removed %d orphans; running but not listed %d; host after removing everything: %s (before: %s)\n",
      rounds, podsPerRound, pods.size(), runningListed, times("rolled back half-created pod"),
      times("rolled back half-created container"), times("container found running"), times("killed stray helper"),
      times("removed orphan"), unlisted, after.describe().c_str(), before.describe().c_str());
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

// A microsecond figure from the last log line that has `key`.
long logMicros(const std::string& log, const std::string& key) {
  auto at = log.rfind(key + "=");
  return at == std::string::npos ? -1 : std::atol(log.c_str() + at + key.size() + 1);
}

// Start-up with many pods and running containers in the store, after a
// SIGKILL: everything is listed as before, nothing was touched, and the
// recovery time is reported. CRIX_RECOVERY_PODS scales it (200 by hand).
TEST_F(RecoveryTest, RestartWithManyPodsKeepsThemAll) {
  const int n = envInt("CRIX_RECOVERY_PODS", 10);
  auto d = startDaemon(config_);
  ASSERT_TRUE(pullBusybox(*d).ok());
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        std::string name = "many-" + std::to_string(i), pod, ctr;
        if (!runPod(*d, name, &pod).ok() || !createContainer(*d, pod, name, &ctr).ok() || !startContainer(*d, ctr).ok())
          ++failures;
      }
    });
  }
  for (auto& t : workers) t.join();
  ASSERT_EQ(failures, 0) << d->log();
  auto podsBefore = listPods(*d);
  auto ctrsBefore = listContainers(*d);
  ASSERT_EQ(ctrsBefore.size(), static_cast<size_t>(n));
  std::set<std::string> ids;
  for (const auto& p : podsBefore) ids.insert(p.id());
  for (const auto& c : ctrsBefore) ids.insert(c.id());
  std::set<int> pidsBefore;
  for (int pid : sys::listPids())
    if (ids.count(HostState::cgroupId(pid))) pidsBefore.insert(pid);
  EXPECT_GE(pidsBefore.size(), static_cast<size_t>(2 * n));  // the pause image's and the container's

  EXPECT_EQ(d->stop(SIGKILL), -SIGKILL);
  d = startDaemon(config_);
  ASSERT_TRUE(d && d->running());
  auto podsAfter = listPods(*d);
  auto ctrsAfter = listContainers(*d);
  ASSERT_EQ(podsAfter.size(), podsBefore.size());
  ASSERT_EQ(ctrsAfter.size(), ctrsBefore.size());
  for (size_t i = 0; i < ctrsAfter.size(); ++i) {
    EXPECT_EQ(ctrsAfter[i].id(), ctrsBefore[i].id());
    EXPECT_EQ(ctrsAfter[i].state(), v1::CONTAINER_RUNNING);
  }
  for (const auto& p : podsAfter) EXPECT_EQ(p.state(), v1::SANDBOX_READY);
  // The containers' processes were never touched.
  for (int pid : pidsBefore) EXPECT_TRUE(std::filesystem::exists("/proc/" + std::to_string(pid))) << pid;
  std::string log = d->log();
  std::printf("restart with %d pods and %d running containers: recovery_us=%ld startup_us=%ld\n", n, n,
              logMicros(log, "recovery_us"), logMicros(log, "startup_us"));
  removeAll(*d);
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

// The pause process dies while crixd is down: at start-up the pod is
// stopped (not ready, network released) so that the kubelet makes a new one.
TEST_F(RecoveryTest, AnInfraContainerThatDiedWhileDownStopsItsPod) {
  auto before = HostState::take(tmp_.path(), cgroupIds_);
  auto d = startDaemon(config_);
  std::string pod;
  ASSERT_TRUE(runPod(*d, "lonely", &pod).ok()) << d->log();
  auto pause = sys::readFile(tmp_ / ("d/run/pods/" + pod + "/infra/pidfile"));
  ASSERT_TRUE(pause && !pause->empty());
  rememberIds();
  EXPECT_EQ(d->stop(SIGKILL), -SIGKILL);
  ASSERT_EQ(::kill(std::atoi(pause->c_str()), SIGKILL), 0);
  // conmon records the exit.
  for (int i = 0; i < 200 && !std::filesystem::exists(tmp_ / ("d/run/exits/" + pod)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  d = startDaemon(config_);
  auto pods = listPods(*d);
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].state(), v1::SANDBOX_NOTREADY) << d->log();
  EXPECT_FALSE(std::filesystem::exists(tmp_ / ("d/run/netns/" + pod)));
  removeAll(*d);
  EXPECT_EQ(d->stop(), 0);
  EXPECT_EQ(HostState::take(tmp_.path(), cgroupIds_).describe(), before.describe()) << d->log();
}

}  // namespace
}  // namespace crix::test
