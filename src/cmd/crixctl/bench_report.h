// What one bench run measured, and how it is printed: a table for people,
// JSON for scripts, and two runs side by side with ratios for --compare.
#pragma once

#include <sys/types.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/crixctl/bench_scenarios.h"
#include "cmd/crixctl/op_recorder.h"
#include "cmd/crixctl/proc_memory.h"

namespace crix::bench {

struct MemoryReport {
  pid_t daemonPid = 0;
  std::string unavailable;  // why there are no figures; empty when there are
  MemorySample idle;        // before the scenario created anything
  MemorySample peak;        // highest total PSS while it ran
  MemorySample after;       // after cleanup
  // (peak total - idle total) / pods alive at the peak, in kB.
  std::optional<double> perPodPssKb() const;
  std::optional<double> perPodRssKb() const;
};

struct RunReport {
  std::string endpoint, runtimeName, runtimeVersion, runId;
  Options options;
  ScenarioOutcome outcome;
  std::vector<OpStats> ops;
  MemoryReport memory;
  size_t leftBehind = 0;  // pods and containers still labelled with the run after cleanup
  bool interrupted = false;
  double throughput() const;
  size_t errors() const;
};

nlohmann::json toJson(const RunReport& r);
// {"runs": [a, b], "ratios": {...}} where each ratio is a / b.
nlohmann::json comparisonJson(const RunReport& a, const RunReport& b);

void printTable(std::ostream& out, const RunReport& r);
void printComparison(std::ostream& out, const RunReport& a, const RunReport& b);

}  // namespace crix::bench
