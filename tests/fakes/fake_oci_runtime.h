// A fake OCI runtime: containers are entries in a map with the runtime's
// statuses, and their exit codes stand in for conmon's exit files.
//
//   create ──► created ──start──► running ──exit() | kill (exitOnKill) | remove(force)──► stopped
//                 └──────────────── kill (exitOnKill) | remove(force) ────────────────────┘
//
// Every call is recorded; a test can make one fail (failNext) or be slow
// (setDelay), make a container exit (exit), and hear of each exit as the
// exit monitor would (setExitListener). Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "oci/runtime.h"

namespace crix::test {

class FakeOciRuntime final : public oci::OciRuntime {
 public:
  struct Call {
    std::string op;   // create, start, kill, remove, state, update, exec, execStream, attach, reopenLog, exitCode
    std::string id;   // the container (the bundle for reopenLog)
    std::string arg;  // kill: the signal; remove: "force" or ""; update: the JSON; exec: the command
    bool operator==(const Call&) const = default;
  };

  // A container the runtime already has, as if created before the test
  // (status "created" or "running").
  void addContainer(const std::string& id, const std::string& status);
  // The container's process ends with `code`: status stopped, exitCode() says so.
  void exit(const std::string& id, int code);
  // Whether a kill ends a live container (with 128 + the signal).
  void setExitOnKill(bool on);
  // Called with the id after each exit, outside the fake's lock.
  void setExitListener(std::function<void(const std::string&)> listener);
  // The next call of `op` fails with `err` (queued: one failure per call).
  void failNext(const std::string& op, Error err);
  // Every call of `op` sleeps this long first.
  void setDelay(const std::string& op, std::chrono::milliseconds d);

  std::vector<Call> calls() const;
  // How many calls of `op` (for `id`, unless it is empty).
  int count(const std::string& op, const std::string& id = "") const;
  // The runtime's status of the container, or nothing once it is deleted.
  std::optional<std::string> status(const std::string& id) const;

  Result<int> create(const oci::CreateOptions& opts) override;
  Result<> start(const std::string& id) override;
  Result<> kill(const std::string& id, int signal) override;
  Result<> remove(const std::string& id, bool force) override;
  Result<oci::State> state(const std::string& id) override;
  Result<> update(const std::string& id, const std::string& resourcesJson) override;
  Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) override;
  Result<std::unique_ptr<oci::StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& args,
                                                         const oci::ExecStreamOptions& opts) override;
  Result<std::unique_ptr<oci::StreamProcess>> attach(const std::string& id, const std::string& bundle) override;
  Result<> reopenLog(const std::string& bundle, const std::string& logPath) override;
  Result<std::optional<int>> exitCode(const std::string& id) override;

 private:
  struct Container {
    std::string status;
    int pid = 0;
  };
  // Records the call, sleeps its delay and returns its injected failure, if any.
  Result<> enter(const std::string& op, const std::string& id, const std::string& arg = "");
  // Under mu_: ends a live container; true when it was live.
  bool exitLocked(const std::string& id, int code);
  void notify(const std::string& id);

  mutable std::mutex mu_;
  std::map<std::string, Container> containers_;
  std::map<std::string, int> exits_;  // the exit files: they outlive the runtime's state
  std::vector<Call> calls_;
  std::map<std::string, std::deque<Error>> failures_;
  std::map<std::string, std::chrono::milliseconds> delays_;
  std::function<void(const std::string&)> listener_;
  bool exitOnKill_ = false;
  int nextPid_ = 1000;
};

}  // namespace crix::test
