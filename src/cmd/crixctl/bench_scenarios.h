// The bench scenarios: what one iteration does, how iterations are spread
// over worker threads, and what each sets up before timing starts.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

#include "cmd/crixctl/bench.h"
#include "cmd/crixctl/bench_session.h"

namespace crix::bench {

// Shared with the progress line while a scenario runs.
struct Progress {
  std::atomic<const char*> phase{"setup"};
  std::atomic<size_t> total{0};  // iterations planned in this phase
  std::atomic<size_t> done{0}, failed{0};
  void begin(const char* name, size_t planned) {
    phase = name;
    total = planned;
    done = 0;
    failed = 0;
  }
};

struct ScenarioOutcome {
  size_t ok = 0, failed = 0;  // timed iterations
  double seconds = 0;         // wall time of the timed part
  std::string firstError;     // the first failed iteration's, or a failed setup's
  bool setupFailed = false;
};

// Runs `iterations` pod+container iterations, unrecorded, so that the
// runtime has the sandbox image and warm caches before timing starts.
Result<void> warmUp(BenchSession& session, int iterations);

// Runs opts.scenario with opts' sizes; workers stop starting iterations
// once `stop` is set. Leaves cleanup to the caller (session.cleanup()).
ScenarioOutcome runScenario(BenchSession& session, const Options& opts, Progress& progress,
                            const std::atomic<bool>& stop);

}  // namespace crix::bench
