// Where a RunPodSandbox spent its time, step by step.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace crix::lifecycle {

// Steps are laps: each lap() closes the step that ran since the previous
// lap (or begin), so the steps add up to the whole call.
class StartupBreakdown {
 public:
  using Clock = std::chrono::steady_clock;
  struct Step {
    std::string name;
    std::chrono::nanoseconds duration{0};
  };

  void begin() {
    steps_.clear();
    last_ = Clock::now();
  }
  void lap(std::string name) {
    auto now = Clock::now();
    steps_.push_back({std::move(name), now - last_});
    last_ = now;
  }
  const std::vector<Step>& steps() const { return steps_; }
  std::chrono::nanoseconds total() const {
    std::chrono::nanoseconds sum{0};
    for (const auto& s : steps_) sum += s.duration;
    return sum;
  }

 private:
  Clock::time_point last_{};
  std::vector<Step> steps_;
};

}  // namespace crix::lifecycle
