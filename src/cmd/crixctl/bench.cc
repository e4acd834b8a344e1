#include "cmd/crixctl/bench.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cmd/crixctl/bench_report.h"
#include "cmd/crixctl/bench_scenarios.h"
#include "cmd/crixctl/bench_session.h"
#include "cmd/crixctl/proc_memory.h"
#include "common/ids.h"

namespace crix::bench {
namespace {

// Set by SIGINT or SIGTERM: workers start no new iteration and cleanup runs.
// The handler resets itself, so a second signal kills as usual.
std::atomic<bool> gStop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "read from a signal handler");

extern "C" void onStopSignal(int) {
  gStop = true;
}

void installStopHandler() {
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// A single line on stderr, rewritten in place while a phase runs; only on a
// terminal, so logs and pipes stay clean.
class ProgressLine {
 public:
  ProgressLine(std::string label, const Progress& progress) : label_(std::move(label)), progress_(progress) {
    if (::isatty(STDERR_FILENO) == 0) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~ProgressLine() {
    stopping_ = true;
    if (!thread_.joinable()) return;
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void loop() {
    auto start = std::chrono::steady_clock::now();
    for (int tick = 0; !stopping_; ++tick) {
      if (tick % 10 == 0) print(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  void print(double seconds) const {
    std::fprintf(stderr, "\r\033[K%s %s: %zu/%zu done, %zu failed, %.1f s%s", label_.c_str(), progress_.phase.load(),
                 progress_.done.load(), progress_.total.load(), progress_.failed.load(), seconds,
                 gStop ? " (interrupted, cleaning up)" : "");
    std::fflush(stderr);
  }

  std::string label_;
  const Progress& progress_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The pods' log directories live under one directory per run, removed after.
class LogRoot {
 public:
  explicit LogRoot(const std::string& parent, const std::string& runId) {
    if (parent.empty()) {
      char tmpl[] = "/tmp/crixctl-bench-XXXXXX";
      if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
      return;
    }
    path_ = parent + "/bench-" + runId;
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);
  }
  ~LogRoot() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Paths that a monitor's command line names when it works for this runtime:
// the socket's directory (containerd-shim gets -address SOCKET; conmon gets
// paths under crixd's state directory, beside its socket) and, when the
// runtime's verbose status shows its configuration, its state directory.
std::vector<std::string> monitorHints(BenchSession& session) {
  std::vector<std::string> hints;
  std::string socket = socketPath(session.config().endpoint);
  if (!socket.empty()) hints.push_back(std::filesystem::path(socket).parent_path().string() + "/");
  auto info = session.verboseInfo();
  if (!info || !info->contains("config")) return hints;
  auto config = nlohmann::json::parse(info->at("config"), nullptr, false);
  if (!config.is_object()) return hints;
  for (const char* key : {"state_dir", "stateDir"})
    if (config.contains(key) && config[key].is_string()) hints.push_back(config[key].get<std::string>() + "/");
  return hints;
}

Result<pid_t> daemonPid(const std::string& endpoint, pid_t given) {
  if (given > 0) return given;
  std::string socket = socketPath(endpoint);
  if (socket.empty()) return fail(Code::InvalidArgument, "not a unix socket endpoint; give the daemon's --pid");
  return socketOwner(socket);
}

void describeRuntime(BenchSession& session, RunReport* report) {
  auto v = session.version();
  if (!v) return;
  report->runtimeName = v->runtime_name();
  report->runtimeVersion = v->runtime_version();
}

// Samples memory around the scenario when the daemon can be found.
std::unique_ptr<MemorySampler> makeSampler(BenchSession& session, const Options& o, pid_t givenPid,
                                           MemoryReport* memory) {
  auto pid = daemonPid(session.config().endpoint, givenPid);
  if (!pid) {
    memory->unavailable = pid.error().message();
    return nullptr;
  }
  memory->daemonPid = *pid;
  return std::make_unique<MemorySampler>(*pid, monitorHints(session), std::chrono::milliseconds(o.sampleMs),
                                         [&session] { return session.alive(); });
}

void runMeasured(BenchSession& session, const Options& o, MemorySampler* sampler, RunReport* report) {
  Progress progress;
  ProgressLine line(report->runtimeName + " " + o.scenario, progress);
  if (sampler) {
    report->memory.idle = sampler->sampleNow();
    sampler->start();
  }
  report->outcome = runScenario(session, o, progress, gStop);
  if (sampler) report->memory.peak = sampler->stop();
}

void cleanUp(BenchSession& session, const Options& o, MemorySampler* sampler, RunReport* report) {
  Progress progress;
  progress.begin("cleanup", 0);
  ProgressLine line(report->runtimeName + " " + o.scenario, progress);
  report->leftBehind = session.cleanup(std::max(o.concurrency, 4));
  if (!sampler) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // monitors exit as their pods go
  report->memory.after = sampler->sampleNow();
}

// One whole run on one endpoint: prepare, measure, clean up.
Result<RunReport> runOn(const Options& o, const std::string& endpoint, pid_t givenPid) {
  RunReport report{.endpoint = endpoint, .runId = newId().substr(0, 8), .options = o};
  LogRoot logs(o.logDir, report.runId);
  OpRecorder recorder;
  BenchSession session({.endpoint = endpoint,
                        .image = o.image,
                        .runtimeHandler = o.runtimeHandler,
                        .runId = report.runId,
                        .logDir = logs.path(),
                        .stopTimeout = o.stopTimeout,
                        .rpcTimeout = std::chrono::seconds(o.rpcTimeout),
                        .sharedPid = o.sharedPid,
                        .userns = o.userns},
                       recorder);
  TRY_CTX(session.version(), "cannot reach " + endpoint);
  describeRuntime(session, &report);
  TRY_CTX(session.ensureImage(), "prepare image");
  if (auto warm = warmUp(session, o.warmup); !warm) {
    (void)session.cleanup(1);
    return fail(warm.error());
  }
  auto sampler = makeSampler(session, o, givenPid, &report.memory);
  runMeasured(session, o, sampler.get(), &report);
  cleanUp(session, o, sampler.get(), &report);
  report.ops = recorder.stats();
  report.interrupted = gStop;
  return report;
}

int exitCode(const std::vector<RunReport>& reports) {
  if (gStop) return 130;
  for (const auto& r : reports)
    if (r.errors() > 0 || r.leftBehind > 0 || r.outcome.setupFailed) return 1;
  return 0;
}

void print(const Options& o, const std::vector<RunReport>& reports) {
  if (o.json) {
    nlohmann::json out =
        reports.size() == 2 ? comparisonJson(reports[0], reports[1]) : nlohmann::json{{"runs", {toJson(reports[0])}}};
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (reports.size() == 2) return printComparison(std::cout, reports[0], reports[1]);
  printTable(std::cout, reports[0]);
}

}  // namespace

CLI::App* addBenchCommand(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("bench", "load a CRI runtime and measure latency, throughput and memory");
  cmd->add_option("scenario", o.scenario, "pod, pod+container, exec, pull, list, churn or portforward")
      ->check(CLI::IsMember({"pod", "pod+container", "exec", "pull", "list", "stream", "churn", "portforward"}))
      ->capture_default_str();
  cmd->add_option("-n,--count", o.count, "iterations (pull: rounds)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("-c,--concurrency", o.concurrency, "parallel clients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--image", o.image, "container image (pulled before timing unless present)")->capture_default_str();
  cmd->add_option("--compare", o.compareEndpoint, "run the same on this endpoint afterwards; print A, B and A/B");
  cmd->add_option("--runtime-handler", o.runtimeHandler, "RunPodSandbox runtime handler");
  cmd->add_option("--containers", o.containers, "list, stream: containers present")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--per-pod", o.perPod, "list, stream: containers per pod")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--pods", o.pods, "churn: pods kept alive")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--rate", o.rate, "churn: pods replaced per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--duration", o.duration, "churn: seconds")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--bytes", o.bytes, "portforward: bytes fetched per iteration")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--shared-pid", o.sharedPid,
                "pods share one PID namespace (default: one per container, as the kubelet asks without "
                "shareProcessNamespace)");
  cmd->add_flag("--userns", o.userns,
                "pods get a user namespace of their own (hostUsers: false), each its own 65536 ids");
  cmd->add_option("--warmup", o.warmup, "untimed pod+container iterations before timing")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--stop-timeout", o.stopTimeout, "StopContainer timeout, seconds")->capture_default_str();
  cmd->add_option("--rpc-timeout", o.rpcTimeout, "deadline of each CRI call, seconds")->capture_default_str();
  cmd->add_option("--pid", o.pid, "the runtime daemon's pid (default: the socket's owner)");
  cmd->add_option("--compare-pid", o.comparePid, "the --compare daemon's pid");
  cmd->add_option("--sample-ms", o.sampleMs, "memory sampling interval")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--log-dir", o.logDir, "where pods' log directories go (default: a temp dir), removed after");
  cmd->add_flag("--json", o.json, "print JSON instead of a table");
  return cmd;
}

int runBench(const Options& o) {
  installStopHandler();
  std::vector<RunReport> reports;
  std::vector<std::pair<std::string, pid_t>> targets = {{o.endpoint, o.pid}};
  if (!o.compareEndpoint.empty()) targets.emplace_back(o.compareEndpoint, o.comparePid);
  for (const auto& [endpoint, pid] : targets) {
    if (gStop) break;
    auto report = runOn(o, endpoint, pid);
    if (!report) {
      std::cerr << "crixctl: bench: " << report.error().message() << "\n";
      return 1;
    }
    reports.push_back(std::move(*report));
  }
  if (reports.empty()) return exitCode(reports);
  print(o, reports);  // interrupted between the two: the first alone
  return exitCode(reports);
}

}  // namespace crix::bench
