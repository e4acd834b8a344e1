#include "cmd/crixctl/op_recorder.h"

#include <algorithm>
#include <cmath>

namespace crix::bench {

void OpRecorder::record(const std::string& op, std::chrono::steady_clock::duration took, const std::string& error) {
  std::lock_guard lock(mu_);
  auto [it, added] = ops_.try_emplace(op);
  if (added) it->second.order = ops_.size();
  if (error.empty()) {
    it->second.ms.push_back(std::chrono::duration<double, std::milli>(took).count());
    return;
  }
  if (it->second.errors++ == 0) it->second.firstError = error;
}

std::vector<OpStats> OpRecorder::stats() const {
  std::vector<std::pair<size_t, OpStats>> ordered;
  {
    std::lock_guard lock(mu_);
    for (const auto& [op, s] : ops_) {
      std::vector<double> sorted = s.ms;
      std::sort(sorted.begin(), sorted.end());
      OpStats st{.name = op, .count = sorted.size() + s.errors, .errors = s.errors, .firstError = s.firstError};
      st.p50 = percentile(sorted, 50);
      st.p95 = percentile(sorted, 95);
      st.p99 = percentile(sorted, 99);
      st.max = sorted.empty() ? 0 : sorted.back();
      ordered.emplace_back(s.order, std::move(st));
    }
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<OpStats> out;
  for (auto& [order, st] : ordered) out.push_back(std::move(st));
  return out;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace crix::bench
