// The process_* families every Prometheus exporter has, read from /proc at
// scrape time: resident and virtual memory, open and maximum fds, CPU time
// and start time.
#pragma once

#include <string_view>
#include <vector>

#include "metrics/registry.h"

namespace crix::metrics {

// Adds the collector to `registry`.
void addProcessCollector(Registry& registry);

// Memory, CPU and start time from the texts of /proc/self/stat and
// /proc/stat, given the page size and clock ticks per second (exposed for
// tests).
struct ProcessSample {
  double residentBytes = 0, virtualBytes = 0, cpuSeconds = 0, startTimeSeconds = 0;
  bool ok = false;
};
ProcessSample parseProcStat(std::string_view selfStat, std::string_view systemStat, long pageSize, long ticksPerSecond);

}  // namespace crix::metrics
