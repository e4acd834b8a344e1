#include "metrics/process_metrics.h"

#include <gtest/gtest.h>

#include "metrics/exposition.h"

namespace crix::metrics {
namespace {

TEST(MetricsProcess, ParsesProcStat) {
  // The command name holds a space and a parenthesis, as it may.
  std::string self =
      "4242 (crix d) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 2500 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  std::string system = "cpu  1 2 3\nbtime 1700000000\nprocesses 99\n";
  auto s = parseProcStat(self, system, 4096, 100);
  ASSERT_TRUE(s.ok);
  EXPECT_DOUBLE_EQ(s.cpuSeconds, 3.0);  // (250 + 50) / 100
  EXPECT_DOUBLE_EQ(s.virtualBytes, 123456789);
  EXPECT_DOUBLE_EQ(s.residentBytes, 2500.0 * 4096);
  EXPECT_DOUBLE_EQ(s.startTimeSeconds, 1700000010.0);  // btime + 1000 / 100
  EXPECT_FALSE(parseProcStat("garbage", system, 4096, 100).ok);
  EXPECT_FALSE(parseProcStat(self, "cpu 1\n", 4096, 100).ok);
}

TEST(MetricsProcess, ReportsThisProcess) {
  Registry r;
  addProcessCollector(r);
  std::string text = renderText(r.collect());
  for (auto name : {"process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds",
                    "process_cpu_seconds_total", "process_max_fds"})
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << text;
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace crix::metrics
