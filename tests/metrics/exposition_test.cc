#include "metrics/exposition.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace crix::metrics {
namespace {

TEST(MetricsExposition, FormatsValues) {
  struct Row {
    double v;
    const char* text;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (auto [v, text] :
       {Row{0, "0"}, Row{-0.0, "0"}, Row{3, "3"}, Row{-7, "-7"}, Row{1500000000, "1500000000"}, Row{0.1, "0.1"},
        Row{0.0025, "0.0025"}, Row{2.5, "2.5"}, Row{1e300, "1e+300"}, Row{1.0 / 3, "0.3333333333333333"},
        Row{inf, "+Inf"}, Row{-inf, "-Inf"}, Row{std::nan(""), "NaN"}})
    EXPECT_EQ(formatValue(v), text) << v;
}

TEST(MetricsExposition, EscapesLabelValues) {
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(escapeLabelValue(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(escapeLabelValue("two\nlines"), R"(two\nlines)");
  EXPECT_EQ(escapeLabelValue("tab\tstays"), "tab\tstays");
  EXPECT_EQ(escapeLabelValue("ünïcode"), "ünïcode");
}

TEST(MetricsExposition, EscapesHelpButNotQuotes) {
  EXPECT_EQ(escapeHelp("Pods \"by\" state.\nSecond line \\ end"), R"(Pods "by" state.\nSecond line \\ end)");
}

TEST(MetricsExposition, RendersHelpTypeAndSamples) {
  std::vector<FamilySnapshot> families = {
      {"crix_image_pulls_total",
       "Image pulls, by result.",
       Type::Counter,
       {{"crix_image_pulls_total", {{"result", "failure"}}, 1},
        {"crix_image_pulls_total", {{"result", "success"}}, 3}}},
      {"crix_odd", "Odd \\ labels.", Type::Gauge, {{"crix_odd", {{"a", "x\"y"}, {"b", "1\n2"}}, 0.5}}},
      {"process_open_fds", "Number of open file descriptors.", Type::Gauge, {{"process_open_fds", {}, 12}}},
      {"crix_empty", "Nothing yet.", Type::Histogram, {}},
  };
  EXPECT_EQ(renderText(families),
            "# HELP crix_image_pulls_total Image pulls, by result.\n"
            "# TYPE crix_image_pulls_total counter\n"
            "crix_image_pulls_total{result=\"failure\"} 1\n"
            "crix_image_pulls_total{result=\"success\"} 3\n"
            "# HELP crix_odd Odd \\\\ labels.\n"
            "# TYPE crix_odd gauge\n"
            "crix_odd{a=\"x\\\"y\",b=\"1\\n2\"} 0.5\n"
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\n"
            "process_open_fds 12\n"
            "# HELP crix_empty Nothing yet.\n"
            "# TYPE crix_empty histogram\n");
}

TEST(MetricsExposition, RendersAHistogramFromTheRegistry) {
  Registry r;
  r.histograms("crix_pod_startup_step_duration_seconds", "Steps.", {"step"}, {0.01, 0.1})
      .with({"cni_add"})
      .observe(0.05);
  EXPECT_EQ(renderText(r.collect()),
            "# HELP crix_pod_startup_step_duration_seconds Steps.\n"
            "# TYPE crix_pod_startup_step_duration_seconds histogram\n"
            "crix_pod_startup_step_duration_seconds_bucket{step=\"cni_add\",le=\"0.01\"} 0\n"
            "crix_pod_startup_step_duration_seconds_bucket{step=\"cni_add\",le=\"0.1\"} 1\n"
            "crix_pod_startup_step_duration_seconds_bucket{step=\"cni_add\",le=\"+Inf\"} 1\n"
            "crix_pod_startup_step_duration_seconds_sum{step=\"cni_add\"} 0.05\n"
            "crix_pod_startup_step_duration_seconds_count{step=\"cni_add\"} 1\n");
}

}  // namespace
}  // namespace crix::metrics
