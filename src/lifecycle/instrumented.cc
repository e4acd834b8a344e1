#include "lifecycle/instrumented.h"

#include <chrono>

namespace crix::lifecycle {
namespace {

// Runs `call` and observes how long it took.
template <typename Call>
auto timed(metrics::Histogram& h, Call&& call) {
  auto start = std::chrono::steady_clock::now();
  auto result = call();
  h.observe(std::chrono::steady_clock::now() - start);
  return result;
}

metrics::Family<metrics::Histogram>& ociFamily(metrics::Registry& m) {
  return m.histograms("crix_oci_runtime_duration_seconds", "Time OCI runtime calls took, by operation.", {"op"},
                      metrics::kLatencyBuckets);
}

metrics::Family<metrics::Histogram>& cniFamily(metrics::Registry& m) {
  return m.histograms("crix_cni_operation_duration_seconds",
                      "Time CNI ADD, DEL and CHECK took, all plugins of the network.", {"op"},
                      metrics::kLatencyBuckets);
}

}  // namespace

TimedOciRuntime::TimedOciRuntime(std::unique_ptr<oci::OciRuntime> inner, metrics::Registry& metrics)
    : inner_(std::move(inner)),
      create_(ociFamily(metrics).with({"create"})),
      start_(ociFamily(metrics).with({"start"})),
      kill_(ociFamily(metrics).with({"kill"})),
      delete_(ociFamily(metrics).with({"delete"})),
      state_(ociFamily(metrics).with({"state"})),
      exec_(ociFamily(metrics).with({"exec"})),
      reopenLog_(ociFamily(metrics).with({"reopen_log"})) {}

Result<int> TimedOciRuntime::create(const oci::CreateOptions& opts) {
  return timed(create_, [&] { return inner_->create(opts); });
}

Result<> TimedOciRuntime::start(const std::string& id) {
  return timed(start_, [&] { return inner_->start(id); });
}

Result<> TimedOciRuntime::kill(const std::string& id, int signal) {
  return timed(kill_, [&] { return inner_->kill(id, signal); });
}

Result<> TimedOciRuntime::remove(const std::string& id, bool force) {
  return timed(delete_, [&] { return inner_->remove(id, force); });
}

Result<oci::State> TimedOciRuntime::state(const std::string& id) {
  return timed(state_, [&] { return inner_->state(id); });
}

Result<sys::CommandResult> TimedOciRuntime::exec(const std::string& id, const std::vector<std::string>& args,
                                                 std::chrono::milliseconds timeout) {
  return timed(exec_, [&] { return inner_->exec(id, args, timeout); });
}

Result<> TimedOciRuntime::reopenLog(const std::string& bundle, const std::string& logPath) {
  return timed(reopenLog_, [&] { return inner_->reopenLog(bundle, logPath); });
}

TimedNetwork::TimedNetwork(network::NetworkPlugin& inner, metrics::Registry& metrics)
    : inner_(inner),
      add_(cniFamily(metrics).with({"add"})),
      del_(cniFamily(metrics).with({"del"})),
      check_(cniFamily(metrics).with({"check"})) {}

Result<network::NetworkStatus> TimedNetwork::add(const network::Attachment& a) {
  return timed(add_, [&] { return inner_.add(a); });
}

Result<> TimedNetwork::del(const std::string& containerId) {
  return timed(del_, [&] { return inner_.del(containerId); });
}

Result<> TimedNetwork::check(const std::string& containerId) {
  return timed(check_, [&] { return inner_.check(containerId); });
}

}  // namespace crix::lifecycle
