#include "cmd/crixctl/bench_report.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ostream>

namespace crix::bench {
namespace {

using nlohmann::json;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

double rounded(double v, int digits = 3) {
  double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

double mib(uint64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}

std::optional<double> ratio(double a, double b) {
  if (b == 0) return std::nullopt;
  return a / b;
}

std::string ratioText(std::optional<double> r) {
  return r ? format("%.2f", *r) : "-";
}

json ratioJson(std::optional<double> r) {
  return r ? json(rounded(*r)) : json(nullptr);
}

const OpStats* findOp(const RunReport& r, const std::string& name) {
  for (const auto& op : r.ops)
    if (op.name == name) return &op;
  return nullptr;
}

json sampleJson(const MemorySample& s) {
  return {{"daemon", {{"rss_kb", s.daemon.rssKb}, {"pss_kb", s.daemon.pssKb}}},
          {"monitors", {{"count", s.monitorCount}, {"rss_kb", s.monitors.rssKb}, {"pss_kb", s.monitors.pssKb}}},
          {"total_rss_kb", s.totalRssKb()},
          {"total_pss_kb", s.totalPssKb()},
          {"pods", s.pods},
          {"containers", s.containers}};
}

json memoryJson(const MemoryReport& m) {
  if (!m.unavailable.empty()) return {{"unavailable", m.unavailable}};
  auto perPod = [](std::optional<double> v) { return v ? json(rounded(*v, 1)) : json(nullptr); };
  return {{"daemon_pid", m.daemonPid},
          {"idle", sampleJson(m.idle)},
          {"peak", sampleJson(m.peak)},
          {"after_cleanup", sampleJson(m.after)},
          {"per_pod_pss_kb", perPod(m.perPodPssKb())},
          {"per_pod_rss_kb", perPod(m.perPodRssKb())}};
}

json opJson(const OpStats& op) {
  json j = {{"count", op.count},         {"errors", op.errors},       {"p50_ms", rounded(op.p50)},
            {"p95_ms", rounded(op.p95)}, {"p99_ms", rounded(op.p99)}, {"max_ms", rounded(op.max)}};
  if (!op.firstError.empty()) j["first_error"] = op.firstError;
  return j;
}

std::string runtimeLabel(const RunReport& r) {
  return r.runtimeName + " " + r.runtimeVersion;
}

void printHeader(std::ostream& out, const RunReport& r) {
  const Options& o = r.options;
  out << "scenario  " << o.scenario << ": count " << o.count << ", concurrency " << o.concurrency << ", image "
      << o.image << "\n";
  out << "runtime   " << runtimeLabel(r) << " at " << r.endpoint << " (run " << r.runId << ")\n";
  out << format("result    %zu ok, %zu failed in %.2f s: %.2f iterations/s%s\n", r.outcome.ok, r.outcome.failed,
                r.outcome.seconds, r.throughput(), r.interrupted ? " (interrupted)" : "");
  if (!r.outcome.firstError.empty()) out << "first error: " << r.outcome.firstError << "\n";
}

void printOps(std::ostream& out, const RunReport& r) {
  out << format("\n%-20s %7s %7s %10s %10s %10s %10s\n", "operation", "count", "errors", "p50 ms", "p95 ms", "p99 ms",
                "max ms");
  for (const auto& op : r.ops)
    out << format("%-20s %7zu %7zu %10.1f %10.1f %10.1f %10.1f\n", op.name.c_str(), op.count, op.errors, op.p50, op.p95,
                  op.p99, op.max);
  for (const auto& op : r.ops)
    if (!op.firstError.empty()) out << op.name << " first error: " << op.firstError << "\n";
}

void printSample(std::ostream& out, const std::string& name, const MemorySample& s) {
  out << format("%-22s %10.1f %10.1f %6zu %10.1f %10.1f %10.1f %6zu\n", name.c_str(), mib(s.daemon.rssKb),
                mib(s.daemon.pssKb), s.monitorCount, mib(s.monitors.rssKb), mib(s.monitors.pssKb), mib(s.totalPssKb()),
                s.pods);
}

void printMemory(std::ostream& out, const RunReport& r) {
  const MemoryReport& m = r.memory;
  if (!m.unavailable.empty()) {
    out << "\nmemory: " << m.unavailable << "\n";
    return;
  }
  out << format("\nmemory (MiB), pid %d    %10s %10s %6s %10s %10s %10s %6s\n", static_cast<int>(m.daemonPid),
                "daemon RSS", "daemon PSS", "mons", "mons RSS", "mons PSS", "total PSS", "pods");
  printSample(out, "idle", m.idle);
  printSample(out, "peak", m.peak);
  printSample(out, "after cleanup", m.after);
  if (auto perPod = m.perPodPssKb())
    out << format("per pod: %.2f MiB PSS, %.2f MiB RSS ((peak - idle) / %zu pods at peak)\n", *perPod / 1024,
                  m.perPodRssKb().value_or(0) / 1024, m.peak.pods);
}

// One comparison row: a, b and a/b.
void printPair(std::ostream& out, const char* name, double a, double b, const char* unit) {
  out << format("%-28s %12.2f %12.2f %8s  %s\n", name, a, b, ratioText(ratio(a, b)).c_str(), unit);
}

void printCounts(std::ostream& out, const char* name, size_t a, size_t b) {
  out << format("%-28s %12zu %12zu %8s\n", name, a, b,
                ratioText(ratio(static_cast<double>(a), static_cast<double>(b))).c_str());
}

void printOpComparison(std::ostream& out, const RunReport& a, const RunReport& b) {
  out << format("\n%-18s %13s %8s %19s %19s %19s %19s\n", "operation", "count/errors", "", "p50 ms", "p95 ms", "p99 ms",
                "max ms");
  out << format("%-18s %6s %6s %8s", "", "A", "B", "");
  for (int i = 0; i < 4; ++i) out << format(" %7s %7s %5s", "A", "B", "A/B");
  out << "\n";
  for (const auto& opA : a.ops) {
    const OpStats* opB = findOp(b, opA.name);
    OpStats none;
    const OpStats& ob = opB ? *opB : none;
    out << format("%-18s %3zu/%-3zu %3zu/%-3zu %4s", opA.name.c_str(), opA.count, opA.errors, ob.count, ob.errors, "");
    for (auto field : {&OpStats::p50, &OpStats::p95, &OpStats::p99, &OpStats::max})
      out << format(" %7.1f %7.1f %5s", opA.*field, ob.*field, ratioText(ratio(opA.*field, ob.*field)).c_str());
    out << "\n";
  }
}

void printMemoryComparison(std::ostream& out, const RunReport& a, const RunReport& b) {
  if (!a.memory.unavailable.empty() || !b.memory.unavailable.empty()) {
    out << "\nmemory: " << (a.memory.unavailable.empty() ? "B: " + b.memory.unavailable : "A: " + a.memory.unavailable)
        << "\n";
    return;
  }
  const MemoryReport &ma = a.memory, &mb = b.memory;
  out << format("\n%-28s %12s %12s %8s\n", "memory", "A", "B", "A/B");
  printPair(out, "idle daemon PSS", mib(ma.idle.daemon.pssKb), mib(mb.idle.daemon.pssKb), "MiB");
  printPair(out, "idle monitors PSS", mib(ma.idle.monitors.pssKb), mib(mb.idle.monitors.pssKb), "MiB");
  printPair(out, "idle total PSS", mib(ma.idle.totalPssKb()), mib(mb.idle.totalPssKb()), "MiB");
  printPair(out, "peak daemon PSS", mib(ma.peak.daemon.pssKb), mib(mb.peak.daemon.pssKb), "MiB");
  printPair(out, "peak monitors PSS", mib(ma.peak.monitors.pssKb), mib(mb.peak.monitors.pssKb), "MiB");
  printPair(out, "peak total PSS", mib(ma.peak.totalPssKb()), mib(mb.peak.totalPssKb()), "MiB");
  printPair(out, "peak total RSS", mib(ma.peak.totalRssKb()), mib(mb.peak.totalRssKb()), "MiB");
  printCounts(out, "pods at peak", ma.peak.pods, mb.peak.pods);
  printCounts(out, "monitors at peak", ma.peak.monitorCount, mb.peak.monitorCount);
  printPair(out, "per pod PSS", ma.perPodPssKb().value_or(0) / 1024, mb.perPodPssKb().value_or(0) / 1024, "MiB");
  printPair(out, "per pod RSS", ma.perPodRssKb().value_or(0) / 1024, mb.perPodRssKb().value_or(0) / 1024, "MiB");
  printPair(out, "after cleanup total PSS", mib(ma.after.totalPssKb()), mib(mb.after.totalPssKb()), "MiB");
}

}  // namespace

std::optional<double> MemoryReport::perPodPssKb() const {
  if (!unavailable.empty() || peak.pods == 0) return std::nullopt;
  return (static_cast<double>(peak.totalPssKb()) - static_cast<double>(idle.totalPssKb())) /
         static_cast<double>(peak.pods);
}

std::optional<double> MemoryReport::perPodRssKb() const {
  if (!unavailable.empty() || peak.pods == 0) return std::nullopt;
  return (static_cast<double>(peak.totalRssKb()) - static_cast<double>(idle.totalRssKb())) /
         static_cast<double>(peak.pods);
}

double RunReport::throughput() const {
  return outcome.seconds > 0 ? static_cast<double>(outcome.ok) / outcome.seconds : 0;
}

size_t RunReport::errors() const {
  size_t n = outcome.failed;
  for (const auto& op : ops) n += op.errors;
  return n;
}

json toJson(const RunReport& r) {
  const Options& o = r.options;
  json ops = json::object();
  for (const auto& op : r.ops) ops[op.name] = opJson(op);
  json scenario = {{"name", o.scenario}, {"count", o.count}, {"concurrency", o.concurrency}, {"image", o.image}};
  if (o.scenario == "list") scenario.update({{"containers", o.containers}, {"per_pod", o.perPod}});
  if (o.scenario == "churn") scenario.update({{"pods", o.pods}, {"rate", o.rate}, {"duration_s", o.duration}});
  if (o.scenario == "portforward") scenario["bytes"] = o.bytes;
  json out = {{"endpoint", r.endpoint},
              {"runtime", {{"name", r.runtimeName}, {"version", r.runtimeVersion}}},
              {"run_id", r.runId},
              {"scenario", scenario},
              {"iterations", {{"ok", r.outcome.ok}, {"failed", r.outcome.failed}}},
              {"seconds", rounded(r.outcome.seconds)},
              {"throughput_per_s", rounded(r.throughput())},
              {"operations", ops},
              {"memory", memoryJson(r.memory)},
              {"left_behind", r.leftBehind},
              {"interrupted", r.interrupted}};
  if (!r.outcome.firstError.empty()) out["first_error"] = r.outcome.firstError;
  return out;
}

json comparisonJson(const RunReport& a, const RunReport& b) {
  json ops = json::object();
  for (const auto& opA : a.ops) {
    const OpStats* opB = findOp(b, opA.name);
    if (opB == nullptr) continue;
    ops[opA.name] = {{"p50", ratioJson(ratio(opA.p50, opB->p50))},
                     {"p95", ratioJson(ratio(opA.p95, opB->p95))},
                     {"p99", ratioJson(ratio(opA.p99, opB->p99))},
                     {"max", ratioJson(ratio(opA.max, opB->max))}};
  }
  json ratios = {{"throughput", ratioJson(ratio(a.throughput(), b.throughput()))}, {"operations", ops}};
  if (a.memory.unavailable.empty() && b.memory.unavailable.empty()) {
    auto pss = [](const MemorySample& s) { return static_cast<double>(s.totalPssKb()); };
    ratios["memory"] = {
        {"idle_total_pss", ratioJson(ratio(pss(a.memory.idle), pss(b.memory.idle)))},
        {"peak_total_pss", ratioJson(ratio(pss(a.memory.peak), pss(b.memory.peak)))},
        {"per_pod_pss", ratioJson(ratio(a.memory.perPodPssKb().value_or(0), b.memory.perPodPssKb().value_or(0)))}};
  }
  return {{"runs", {toJson(a), toJson(b)}}, {"ratios", ratios}};
}

void printTable(std::ostream& out, const RunReport& r) {
  printHeader(out, r);
  printOps(out, r);
  printMemory(out, r);
  if (r.leftBehind > 0) out << "\nleft behind: " << r.leftBehind << " pods and containers with label run=" << r.runId;
  out << "\n";
}

void printComparison(std::ostream& out, const RunReport& a, const RunReport& b) {
  out << "A: " << runtimeLabel(a) << " at " << a.endpoint << "\nB: " << runtimeLabel(b) << " at " << b.endpoint << "\n";
  const Options& o = a.options;
  out << "scenario " << o.scenario << ": count " << o.count << ", concurrency " << o.concurrency << ", image "
      << o.image << "\n\n";
  out << format("%-28s %12s %12s %8s\n", "", "A", "B", "A/B");
  printCounts(out, "iterations ok", a.outcome.ok, b.outcome.ok);
  printCounts(out, "iterations failed", a.outcome.failed, b.outcome.failed);
  printPair(out, "wall time", a.outcome.seconds, b.outcome.seconds, "s");
  printPair(out, "throughput", a.throughput(), b.throughput(), "iterations/s");
  printOpComparison(out, a, b);
  printMemoryComparison(out, a, b);
  for (const RunReport* r : {&a, &b}) {
    if (!r->outcome.firstError.empty()) out << "\n" << r->runtimeName << " first error: " << r->outcome.firstError;
    if (r->leftBehind > 0) out << "\n" << r->runtimeName << " left behind: " << r->leftBehind;
  }
  out << "\n";
}

}  // namespace crix::bench
