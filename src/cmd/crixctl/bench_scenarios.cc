#include "cmd/crixctl/bench_scenarios.h"

#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <optional>
#include <thread>

namespace crix::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Iteration = std::function<Result<void>(size_t n)>;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Counts iterations and keeps the first error, from many threads.
class Tally {
 public:
  Tally(Progress& progress, ScenarioOutcome& outcome) : progress_(progress), outcome_(outcome) {}
  void add(const Result<void>& r) {
    std::lock_guard lock(mu_);
    if (r) {
      ++outcome_.ok;
      ++progress_.done;
      return;
    }
    ++outcome_.failed;
    ++progress_.failed;
    if (outcome_.firstError.empty()) outcome_.firstError = r.error().message();
  }

 private:
  std::mutex mu_;
  Progress& progress_;
  ScenarioOutcome& outcome_;
};

ScenarioOutcome iterate(size_t count, int concurrency, Progress& progress, const std::atomic<bool>& stop,
                        const Iteration& iteration) {
  ScenarioOutcome out;
  Tally tally(progress, out);
  progress.begin("run", count);
  auto start = Clock::now();
  parallelFor(count, concurrency, [&](size_t n) {
    if (!stop) tally.add(iteration(n));
  });
  out.seconds = secondsSince(start);
  return out;
}

// Setup steps that must all succeed before timing means anything.
Result<void> setup(size_t count, int concurrency, Progress& progress, const std::atomic<bool>& stop,
                   const Iteration& step) {
  ScenarioOutcome out;
  Tally tally(progress, out);
  progress.begin("setup", count);
  parallelFor(count, concurrency, [&](size_t n) {
    if (!stop) tally.add(step(n));
  });
  if (out.failed > 0) return fail(Code::Internal, "setup: " + out.firstError);
  if (stop) return fail(Code::Cancelled, "setup interrupted");
  return {};
}

ScenarioOutcome setupFailed(const Error& err) {
  return {.firstError = err.message(), .setupFailed = true};
}

// Runs both steps even when the first fails, and reports the first error.
Result<void> both(Result<void> first, Result<void> second) {
  return first ? second : first;
}

Result<void> podOnly(BenchSession& s) {
  auto pod = TRY(s.runPod());
  return s.removePod(pod);
}

Result<void> podWithContainer(BenchSession& s) {
  auto pod = TRY(s.runPod());
  auto container = s.runContainer(pod);
  Result<void> removed = container ? s.removeContainer(*container) : fail(container.error());
  Result<void> podRemoved = s.removePod(pod);  // after the container, so not as an argument beside it
  return both(std::move(removed), std::move(podRemoved));
}

ScenarioOutcome execScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  std::string container;
  auto ready = setup(1, 1, progress, stop, [&](size_t) -> Result<void> {
    auto pod = TRY(s.runPod());
    container = TRY(s.runContainer(pod));
    return {};
  });
  if (!ready) return setupFailed(ready.error());
  return iterate(o.count, o.concurrency, progress, stop, [&](size_t) -> Result<void> {
    TRY(s.execTrue(container));
    return s.execStreamTrue(container);
  });
}

// A busybox httpd in a pod serving `bytes` zeros; each iteration fetches
// them through PortForward.
ScenarioOutcome portForwardScenario(BenchSession& s, const Options& o, Progress& progress,
                                    const std::atomic<bool>& stop) {
  constexpr uint16_t kPort = 8080;
  std::string podId;
  auto ready = setup(1, 1, progress, stop, [&](size_t) -> Result<void> {
    auto pod = TRY(s.runPod());
    podId = pod.id;
    std::string serve = "head -c " + std::to_string(o.bytes) + " /dev/zero > /tmp/payload && exec httpd -f -p " +
                        std::to_string(kPort) + " -h /tmp";
    TRY(s.runContainer(pod, 0, {"sh", "-c", serve}));
    // Untimed: until the server answers.
    s.setRecording(false);
    Result<size_t> probe = fail(Code::Unavailable, "not tried");
    for (int i = 0; i < 100 && !(probe = s.portForwardGet(podId, kPort, "/payload")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.setRecording(true);
    if (!probe) return fail(probe.error());
    return {};
  });
  if (!ready) return setupFailed(ready.error());
  return iterate(o.count, o.concurrency, progress, stop, [&](size_t) -> Result<void> {
    size_t got = TRY(s.portForwardGet(podId, kPort, "/payload"));
    if (got < static_cast<size_t>(o.bytes))
      return fail(Code::Internal, "short transfer: " + std::to_string(got) + " bytes");
    return {};
  });
}

// Each round pulls from `concurrency` clients at once, then removes the image.
ScenarioOutcome pullScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  if (auto dropped = s.dropImage(); !dropped) return setupFailed(dropped.error());
  auto out = iterate(o.count, 1, progress, stop, [&](size_t) -> Result<void> {
    Result<void> pulled;
    std::mutex mu;
    parallelFor(o.concurrency, o.concurrency, [&](size_t) {
      auto r = s.pullImage();
      std::lock_guard lock(mu);
      if (pulled && !r) pulled = r;
    });
    return both(std::move(pulled), s.removeImage());
  });
  if (auto restored = s.ensureImage(); !restored && out.firstError.empty()) out.firstError = restored.error().message();
  return out;
}

// list and stream: --containers running, --per-pod in each pod.
Result<void> setupContainers(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  int perPod = std::max(o.perPod, 1);
  size_t pods = static_cast<size_t>((o.containers + perPod - 1) / perPod);
  return setup(pods, o.concurrency, progress, stop, [&](size_t n) -> Result<void> {
    auto pod = TRY(s.runPod());
    int first = static_cast<int>(n) * perPod;
    for (int k = 0; k < perPod && first + k < o.containers; ++k) TRY(s.runContainer(pod, k));
    return {};
  });
}

ScenarioOutcome listScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  auto ready = setupContainers(s, o, progress, stop);
  if (!ready) return setupFailed(ready.error());
  auto [podsAlive, containersAlive] = s.alive();
  return iterate(o.count, o.concurrency, progress, stop, [&](size_t) -> Result<void> {
    size_t containers = TRY(s.listContainers());
    size_t listedPods = TRY(s.listPods());
    if (containers < containersAlive || listedPods < podsAlive)
      return fail(Code::Internal, "listed " + std::to_string(containers) + " containers and " +
                                      std::to_string(listedPods) + " pods, fewer than the bench's");
    return {};
  });
}

// The same setup as list; each iteration streams the containers instead
// (StreamContainers to its last item, or ListContainers where the runtime
// has no streams).
ScenarioOutcome streamScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  auto ready = setupContainers(s, o, progress, stop);
  if (!ready) return setupFailed(ready.error());
  auto containersAlive = s.alive().second;
  return iterate(o.count, o.concurrency, progress, stop, [&](size_t) -> Result<void> {
    size_t containers = TRY(s.streamContainers());
    if (containers < containersAlive)
      return fail(Code::Internal, "streamed " + std::to_string(containers) + " containers, fewer than the bench's");
    return {};
  });
}

// The pods churn keeps, oldest first.
class LivePods {
 public:
  struct Live {
    Pod pod;
    std::string container;
  };
  void push(Live l) {
    std::lock_guard lock(mu_);
    live_.push_back(std::move(l));
  }
  std::optional<Live> popOldest() {
    std::lock_guard lock(mu_);
    if (live_.empty()) return std::nullopt;
    Live l = std::move(live_.front());
    live_.pop_front();
    return l;
  }

 private:
  std::mutex mu_;
  std::deque<Live> live_;
};

Result<void> addLivePod(BenchSession& s, LivePods& live) {
  auto pod = TRY(s.runPod());
  auto container = TRY(s.runContainer(pod));
  live.push({std::move(pod), std::move(container)});
  return {};
}

Result<void> replaceOldest(BenchSession& s, LivePods& live) {
  auto old = live.popOldest();
  if (!old) return fail(Code::FailedPrecondition, "no pod left to replace");
  Result<void> removed = s.removeContainer(old->container);
  Result<void> podRemoved = s.removePod(old->pod);
  TRY(both(std::move(removed), std::move(podRemoved)));
  return addLivePod(s, live);
}

// Replacement k is due at k/rate seconds; workers that fall behind make the
// achieved rate (ok / seconds) lower than asked.
ScenarioOutcome churnScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  LivePods live;
  auto ready = setup(o.pods, o.concurrency, progress, stop, [&](size_t) { return addLivePod(s, live); });
  if (!ready) return setupFailed(ready.error());
  auto planned = static_cast<size_t>(std::floor(o.duration * o.rate));
  auto start = Clock::now();
  return iterate(planned, o.concurrency, progress, stop, [&](size_t k) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(k / o.rate));
    while (Clock::now() < due && !stop) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return replaceOldest(s, live);
  });
}

}  // namespace

Result<void> warmUp(BenchSession& s, int iterations) {
  s.setRecording(false);
  Result<void> r;
  for (int i = 0; i < iterations && r; ++i) r = podWithContainer(s);
  s.setRecording(true);
  if (!r) return fail(r.error().wrap("warm-up"));
  return {};
}

ScenarioOutcome runScenario(BenchSession& s, const Options& o, Progress& progress, const std::atomic<bool>& stop) {
  if (o.scenario == "pod") return iterate(o.count, o.concurrency, progress, stop, [&](size_t) { return podOnly(s); });
  if (o.scenario == "pod+container")
    return iterate(o.count, o.concurrency, progress, stop, [&](size_t) { return podWithContainer(s); });
  if (o.scenario == "exec") return execScenario(s, o, progress, stop);
  if (o.scenario == "portforward") return portForwardScenario(s, o, progress, stop);
  if (o.scenario == "pull") return pullScenario(s, o, progress, stop);
  if (o.scenario == "list") return listScenario(s, o, progress, stop);
  if (o.scenario == "stream") return streamScenario(s, o, progress, stop);
  return churnScenario(s, o, progress, stop);
}

}  // namespace crix::bench
