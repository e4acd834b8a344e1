#include "metrics/registry.h"

#include <cmath>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

namespace crix::metrics {
namespace {

const Sample* find(const FamilySnapshot& f, const std::string& name, const Labels& labels) {
  for (const auto& s : f.samples)
    if (s.name == name && s.labels == labels) return &s;
  return nullptr;
}

const FamilySnapshot* family(const std::vector<FamilySnapshot>& all, const std::string& name) {
  for (const auto& f : all)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(MetricsHistogram, BucketBoundsAreInclusiveAndCumulative) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0}) h.observe(v);
  auto s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // 0.05, 0.1 (le is inclusive)
  EXPECT_EQ(s.cumulative[1], 4u);  // + 0.5, 1.0
  EXPECT_EQ(s.cumulative[2], 5u);  // + 5.0
  EXPECT_EQ(s.cumulative[3], 6u);  // +Inf: + 100
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 106.65);
}

TEST(MetricsHistogram, NegativeValuesGoInTheFirstBucketAndNaNInInf) {
  Histogram h({0, 1});
  h.observe(-3);
  h.observe(std::numeric_limits<double>::quiet_NaN());
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative[0], 1u);
  EXPECT_EQ(s.cumulative[1], 1u);
  EXPECT_EQ(s.cumulative[2], 2u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(MetricsHistogram, ObservesDurationsInSeconds) {
  Histogram h(kLatencyBuckets);
  h.observe(std::chrono::milliseconds(3));
  auto s = h.snapshot();
  EXPECT_DOUBLE_EQ(s.sum, 0.003);
  // 0.0025 < 0.003 <= 0.005
  EXPECT_EQ(s.cumulative[2], 0u);
  EXPECT_EQ(s.cumulative[3], 1u);
}

TEST(MetricsHistogram, CountsEveryObservationFromManyThreads) {
  Histogram h({1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.observe(0.5);
    });
  for (auto& t : threads) t.join();
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_DOUBLE_EQ(s.sum, 20000);
}

TEST(MetricsHistogram, ExponentialBuckets) {
  auto b = exponentialBuckets(0.001, 10, 4);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_DOUBLE_EQ(b[0], 0.001);
  EXPECT_DOUBLE_EQ(b[3], 1);
}

TEST(MetricsHistogramDeathTest, RefusesBoundsThatDoNotRise) {
  EXPECT_DEATH(Histogram({1, 1}), "strictly rising");
  EXPECT_DEATH(Histogram({1, std::numeric_limits<double>::infinity()}), "finite");
}

TEST(MetricsCounter, OnlyGoesUp) {
  Counter c;
  c.inc();
  c.inc(2.5);
  c.inc(-10);
  EXPECT_DOUBLE_EQ(c.value(), 3.5);
}

TEST(MetricsNames, FollowPrometheusRules) {
  for (auto ok : {"crix_pods", "process_open_fds", "a:b_c", "_x", "X9"}) EXPECT_TRUE(validMetricName(ok)) << ok;
  for (auto bad : {"", "9x", "crix-pods", "crix pods", "é"}) EXPECT_FALSE(validMetricName(bad)) << bad;
  for (auto ok : {"method", "code", "_x", "le"}) EXPECT_TRUE(validLabelName(ok)) << ok;
  for (auto bad : {"", "__name__", "a:b", "9x", "a-b"}) EXPECT_FALSE(validLabelName(bad)) << bad;
}

TEST(MetricsRegistry, UnlabeledMetricsShowBeforeAnythingIsRecorded) {
  Registry r;
  r.counter("crix_things_total", "Things.");
  r.histogram("crix_wait_seconds", "Waits.", {1, 2});
  auto all = r.collect();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].type, Type::Counter);
  ASSERT_EQ(all[0].samples.size(), 1u);
  EXPECT_EQ(all[0].samples[0].value, 0);
  EXPECT_EQ(all[1].type, Type::Histogram);
  EXPECT_EQ(all[1].samples.size(), 5u);  // 3 buckets, sum, count
}

TEST(MetricsRegistry, LabeledChildrenAreMadeOnFirstUseAndSorted) {
  Registry r;
  auto& f = r.counters("crix_grpc_requests_total", "Requests.", {"method", "code"});
  EXPECT_TRUE(r.collect()[0].samples.empty());
  f.with({"Version", "OK"}).inc();
  f.with({"RunPodSandbox", "OK"}).inc(2);
  f.with({"Version", "OK"}).inc();
  auto all = r.collect();
  ASSERT_EQ(all[0].samples.size(), 2u);
  EXPECT_EQ(all[0].samples[0].labels, (Labels{{"method", "RunPodSandbox"}, {"code", "OK"}}));
  EXPECT_EQ(all[0].samples[0].value, 2);
  auto* v = find(all[0], "crix_grpc_requests_total", {{"method", "Version"}, {"code", "OK"}});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 2);
}

TEST(MetricsRegistry, HistogramSamplesCarryLe) {
  Registry r;
  auto& f = r.histograms("crix_cni_operation_duration_seconds", "CNI.", {"op"}, {0.5, 1});
  f.with({"add"}).observe(0.7);
  auto all = r.collect();
  const auto& fam = all[0];
  auto* b = find(fam, "crix_cni_operation_duration_seconds_bucket", {{"op", "add"}, {"le", "0.5"}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, 0);
  b = find(fam, "crix_cni_operation_duration_seconds_bucket", {{"op", "add"}, {"le", "1"}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, 1);
  b = find(fam, "crix_cni_operation_duration_seconds_bucket", {{"op", "add"}, {"le", "+Inf"}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->value, 1);
  auto* sum = find(fam, "crix_cni_operation_duration_seconds_sum", {{"op", "add"}});
  ASSERT_TRUE(sum);
  EXPECT_DOUBLE_EQ(sum->value, 0.7);
  auto* count = find(fam, "crix_cni_operation_duration_seconds_count", {{"op", "add"}});
  ASSERT_TRUE(count);
  EXPECT_EQ(count->value, 1);
}

TEST(MetricsRegistry, RegisteringTheSameFamilyTwiceSharesIt) {
  Registry r;
  auto& a = r.counters("crix_x_total", "X.", {"k"});
  auto& b = r.counters("crix_x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(r.collect().size(), 1u);
}

TEST(MetricsRegistryDeathTest, ClashesAndMisuseAbort) {
  Registry r;
  r.counters("crix_x_total", "X.", {"k"});
  EXPECT_DEATH(r.gauges("crix_x_total", "X.", {"k"}), "registered twice");
  EXPECT_DEATH(r.counters("crix_x_total", "X.", {"other"}), "registered twice");
  EXPECT_DEATH(r.counters("crix-bad", "X.", {}), "bad metric name");
  EXPECT_DEATH(r.counters("crix_y_total", "Y.", {"__reserved"}), "bad label name");
  EXPECT_DEATH(r.histograms("crix_h", "H.", {"le"}, {1}), "cannot have a label named le");
  EXPECT_DEATH(r.counters("crix_x_total", "X.", {"k"}).with({"a", "b"}), "takes 1 label values, got 2");
}

TEST(MetricsRegistry, CollectorsRunAtEveryScrapeAfterTheFamilies) {
  Registry r;
  r.gauge("crix_first", "First.");
  int calls = 0;
  r.addCollector([&](std::vector<FamilySnapshot>& out) {
    ++calls;
    out.push_back({"crix_pods", "Pods.", Type::Gauge, {{"crix_pods", {{"state", "ready"}}, double(calls)}}});
  });
  r.collect();
  auto all = r.collect();
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "crix_first");
  auto* pods = family(all, "crix_pods");
  ASSERT_TRUE(pods);
  EXPECT_EQ(pods->samples[0].value, 2);
}

}  // namespace
}  // namespace crix::metrics
