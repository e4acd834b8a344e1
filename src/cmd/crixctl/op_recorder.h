// OpRecorder: the latency of every timed CRI call in a bench run, by
// operation, from many worker threads.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace crix::bench {

// One operation's figures, latencies in milliseconds.
struct OpStats {
  std::string name;
  size_t count = 0;  // calls, failed ones included
  size_t errors = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::string firstError;
};

class OpRecorder {
 public:
  // `error` is empty for a call that succeeded.
  void record(const std::string& op, std::chrono::steady_clock::duration took, const std::string& error);
  // In the order operations were first recorded, which follows the scenario.
  std::vector<OpStats> stats() const;

 private:
  struct Samples {
    size_t order = 0;
    std::vector<double> ms;  // successful calls only
    size_t errors = 0;
    std::string firstError;
  };
  mutable std::mutex mu_;
  std::map<std::string, Samples> ops_;
};

// The nearest-rank percentile `p` (0-100] of sorted values; 0 when empty.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace crix::bench
