// Counters, gauges and histograms with labels, and the Registry that
// collects them for the Prometheus text format (see exposition.h).
//
// There is no global registry: crixd makes one in its composition root and
// hands it to whoever records. Each user registers the families it records,
// once, in its constructor, and keeps the references, which stay valid for
// the registry's life. Registering a name again with the same type and
// label names returns the same family; a clash aborts (a programming error).
//
//   Registry ─┬─ Family<Counter>   crix_image_pulls_total{result}
//             │    ├─ {"success"} → Counter
//             │    └─ {"failure"} → Counter
//             ├─ Family<Histogram> crix_grpc_request_duration_seconds{method}
//             └─ collectors: functions that report families computed at
//                scrape time (pods by state, process RSS)
//
// Recording on a metric in hand is a few atomic operations; looking a child
// up by label values (`with`) takes its family's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crix::metrics {

enum class Type { Counter, Gauge, Histogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

// One line of the exposition: `name{labels} value`. Histograms give three
// kinds of sample: name_bucket (with "le"), name_sum and name_count.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  Type type = Type::Gauge;
  std::vector<Sample> samples;
};

// Only goes up.
class Counter {
 public:
  void inc(double by = 1) {
    if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets given by their upper bounds ("le",
// inclusive); +Inf is implicit. Bounds must be finite and strictly rising.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);

  void observe(double v);
  void observe(std::chrono::nanoseconds d) { observe(std::chrono::duration<double>(d).count()); }

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket; the last is +Inf
  std::atomic<double> sum_{0};
};

// Bucket sets. Latency: 0.5 ms to 30 s; slow: image pulls, 100 ms to 10 min.
extern const std::vector<double> kLatencyBuckets;
extern const std::vector<double> kSlowBuckets;
// start, start·factor, start·factor², ... (count bounds).
std::vector<double> exponentialBuckets(double start, double factor, int count);

// Prometheus names: metrics [a-zA-Z_:][a-zA-Z0-9_:]*, labels
// [a-zA-Z_][a-zA-Z0-9_]* without the reserved "__" prefix.
bool validMetricName(std::string_view name);
bool validLabelName(std::string_view name);

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labelNames);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return labelNames_; }
  virtual FamilySnapshot collect() const = 0;

 protected:
  // Pairs the label names with one child's values.
  Labels labelsOf(const std::vector<std::string>& values) const;
  // Aborts unless `values` has one value per label name.
  void checkArity(const std::vector<std::string>& values) const;

  std::string name_, help_;
  Type type_;
  std::vector<std::string> labelNames_;
};

void appendSamples(const std::string& name, const Labels& labels, const Counter& c, std::vector<Sample>& out);
void appendSamples(const std::string& name, const Labels& labels, const Gauge& g, std::vector<Sample>& out);
void appendSamples(const std::string& name, const Labels& labels, const Histogram& h, std::vector<Sample>& out);

// One metric name and its children, one per combination of label values.
// A family without labels has its only child from the start, so that it
// shows as 0 before anything is recorded.
template <typename T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> labelNames,
         std::function<std::unique_ptr<T>()> make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labelNames)), make_(std::move(make)) {
    if (labelNames_.empty()) children_[{}] = make_();
  }

  // The child for these label values (in label-name order), made on first use.
  T& with(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    auto& child = children_[values];
    if (!child) {
      checkArity(values);
      child = make_();
    }
    return *child;
  }

  FamilySnapshot collect() const override {
    FamilySnapshot f{name_, help_, type_, {}};
    std::lock_guard lock(mu_);
    for (const auto& [values, child] : children_) appendSamples(name_, labelsOf(values), *child, f.samples);
    return f;
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counters(const std::string& name, const std::string& help, std::vector<std::string> labelNames);
  Family<Gauge>& gauges(const std::string& name, const std::string& help, std::vector<std::string> labelNames);
  Family<Histogram>& histograms(const std::string& name, const std::string& help, std::vector<std::string> labelNames,
                                std::vector<double> bounds);

  // Unlabeled shorthands.
  Counter& counter(const std::string& name, const std::string& help) { return counters(name, help, {}).with({}); }
  Gauge& gauge(const std::string& name, const std::string& help) { return gauges(name, help, {}).with({}); }
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
    return histograms(name, help, {}, std::move(bounds)).with({});
  }

  // A function called at every scrape that appends families of its own:
  // values that are cheaper to compute when asked than to keep up to date.
  using Collector = std::function<void(std::vector<FamilySnapshot>&)>;
  void addCollector(Collector collector);

  // Registered families in registration order, then the collectors'.
  std::vector<FamilySnapshot> collect() const;

 private:
  template <typename T>
  Family<T>& add(const std::string& name, const std::string& help, Type type, std::vector<std::string> labelNames,
                 std::function<std::unique_ptr<T>()> make);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<Collector> collectors_;
};

}  // namespace crix::metrics
