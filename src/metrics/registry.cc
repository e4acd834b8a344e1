#include "metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "metrics/exposition.h"

namespace crix::metrics {
namespace {

// Registration mistakes are programming errors, found by the first test
// that starts crixd; they abort with the offending name.
[[noreturn]] void misuse(const std::string& what) {
  std::fprintf(stderr, "crix metrics: %s\n", what.c_str());
  std::abort();
}

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30};
const std::vector<double> kSlowBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  if (start <= 0 || factor <= 1 || count < 1) misuse("exponential buckets need start > 0, factor > 1, count >= 1");
  std::vector<double> bounds;
  for (double b = start; count-- > 0; b *= factor) bounds.push_back(b);
  return bounds;
}

bool validMetricName(std::string_view name) {
  if (name.empty() || !(isAlpha(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return isAlpha(c) || isDigit(c) || c == ':'; });
}

bool validLabelName(std::string_view name) {
  if (name.empty() || !isAlpha(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return isAlpha(c) || isDigit(c); });
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
      misuse("histogram bounds must be finite and strictly rising");
  }
}

void Histogram::observe(double v) {
  // First bound >= v: "le" is inclusive. NaN compares false everywhere and
  // lands in +Inf, as the Go client puts it.
  size_t i = std::isnan(v) ? bounds_.size() : std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so that the two always agree even while
  // observations land during the snapshot.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labelNames)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labelNames_(std::move(labelNames)) {
  if (!validMetricName(name_)) misuse("bad metric name \"" + name_ + "\"");
  for (const auto& l : labelNames_) {
    if (!validLabelName(l)) misuse("bad label name \"" + l + "\" on " + name_);
    if (type_ == Type::Histogram && l == "le") misuse("histogram " + name_ + " cannot have a label named le");
  }
}

Labels FamilyBase::labelsOf(const std::vector<std::string>& values) const {
  Labels labels;
  for (size_t i = 0; i < labelNames_.size() && i < values.size(); ++i) labels.emplace_back(labelNames_[i], values[i]);
  return labels;
}

void FamilyBase::checkArity(const std::vector<std::string>& values) const {
  if (values.size() != labelNames_.size())
    misuse(name_ + " takes " + std::to_string(labelNames_.size()) + " label values, got " +
           std::to_string(values.size()));
}

void appendSamples(const std::string& name, const Labels& labels, const Counter& c, std::vector<Sample>& out) {
  out.push_back({name, labels, c.value()});
}

void appendSamples(const std::string& name, const Labels& labels, const Gauge& g, std::vector<Sample>& out) {
  out.push_back({name, labels, g.value()});
}

void appendSamples(const std::string& name, const Labels& labels, const Histogram& h, std::vector<Sample>& out) {
  auto s = h.snapshot();
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    Labels withLe = labels;
    withLe.emplace_back("le", i < s.bounds.size() ? formatValue(s.bounds[i]) : "+Inf");
    out.push_back({name + "_bucket", std::move(withLe), static_cast<double>(s.cumulative[i])});
  }
  out.push_back({name + "_sum", labels, s.sum});
  out.push_back({name + "_count", labels, static_cast<double>(s.count)});
}

template <typename T>
Family<T>& Registry::add(const std::string& name, const std::string& help, Type type,
                         std::vector<std::string> labelNames, std::function<std::unique_ptr<T>()> make) {
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    if (f->name() != name) continue;
    if (f->type() != type || f->labelNames() != labelNames)
      misuse("metric " + name + " registered twice with different types or labels");
    return static_cast<Family<T>&>(*f);
  }
  families_.push_back(std::make_unique<Family<T>>(name, help, type, std::move(labelNames), std::move(make)));
  return static_cast<Family<T>&>(*families_.back());
}

Family<Counter>& Registry::counters(const std::string& name, const std::string& help,
                                    std::vector<std::string> labelNames) {
  return add<Counter>(name, help, Type::Counter, std::move(labelNames), [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauges(const std::string& name, const std::string& help, std::vector<std::string> labelNames) {
  return add<Gauge>(name, help, Type::Gauge, std::move(labelNames), [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histograms(const std::string& name, const std::string& help,
                                        std::vector<std::string> labelNames, std::vector<double> bounds) {
  // Checked here too, not only when the first child is made.
  Histogram check(bounds);
  return add<Histogram>(name, help, Type::Histogram, std::move(labelNames),
                        [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
}

void Registry::addCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::vector<FamilySnapshot> Registry::collect() const {
  // Collectors reach into other objects' locks: call them without ours.
  std::vector<const FamilyBase*> families;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
    collectors = collectors_;
  }
  std::vector<FamilySnapshot> out;
  for (const auto* f : families) out.push_back(f->collect());
  for (const auto& c : collectors) c(out);
  return out;
}

}  // namespace crix::metrics
