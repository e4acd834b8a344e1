// Decorators that time the calls crixd makes into the world: the OCI
// runtime (through conmon, runc, crun, runsc) and the CNI plugins. They wrap
// the real drivers at wiring time, so oci/ and network/ stay free of
// metrics and their fakes need none.
//
//   crix_oci_runtime_duration_seconds{op}      create, start, kill, delete, state, exec, reopen_log
//   crix_cni_operation_duration_seconds{op}    add, del, check
//
// Failed calls count too: a runtime that fails slowly is worth seeing.
#pragma once

#include <memory>

#include "metrics/registry.h"
#include "network/cni.h"
#include "oci/runtime.h"

namespace crix::lifecycle {

class TimedOciRuntime final : public oci::OciRuntime {
 public:
  TimedOciRuntime(std::unique_ptr<oci::OciRuntime> inner, metrics::Registry& metrics);

  Result<int> create(const oci::CreateOptions& opts) override;
  Result<> start(const std::string& id) override;
  Result<> kill(const std::string& id, int signal) override;
  Result<> remove(const std::string& id, bool force) override;
  Result<oci::State> state(const std::string& id) override;
  Result<> update(const std::string& id, const std::string& resourcesJson) override {
    return inner_->update(id, resourcesJson);
  }
  Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) override;
  Result<> reopenLog(const std::string& bundle, const std::string& logPath) override;
  // Streaming sessions last as long as their clients: not timed.
  Result<std::unique_ptr<oci::StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& args,
                                                         const oci::ExecStreamOptions& opts) override {
    return inner_->execStream(id, args, opts);
  }
  Result<std::unique_ptr<oci::StreamProcess>> attach(const std::string& id, const std::string& bundle) override {
    return inner_->attach(id, bundle);
  }
  // Reads a file that conmon wrote: no runtime call, not timed.
  Result<std::optional<int>> exitCode(const std::string& id) override { return inner_->exitCode(id); }

 private:
  std::unique_ptr<oci::OciRuntime> inner_;
  metrics::Histogram &create_, &start_, &kill_, &delete_, &state_, &exec_, &reopenLog_;
};

class TimedNetwork final : public network::NetworkPlugin {
 public:
  TimedNetwork(network::NetworkPlugin& inner, metrics::Registry& metrics);

  Result<network::NetworkStatus> add(const network::Attachment& a) override;
  Result<> del(const std::string& containerId) override;
  Result<> check(const std::string& containerId) override;
  // Mostly answered from the plugin's short cache: not timed.
  Result<> status() override { return inner_.status(); }

 private:
  network::NetworkPlugin& inner_;
  metrics::Histogram &add_, &del_, &check_;
};

}  // namespace crix::lifecycle
