// The OCI runtime driver: containers are created through conmon (which
// parents them, keeps their stdio and writes their exit files) and then
// driven with the runtime's CLI (runc, crun, runsc).
//
//   <state_dir>/exits/<id>    the exit code, written by conmon when the container ends
//   <state_dir>/attach/<id>/  conmon's attach socket and control fifo
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "sys/process.h"

namespace crix::oci {

struct CreateOptions {
  std::string id;
  std::string bundle;   // holds config.json
  std::string logPath;  // CRI-format log, written by conmon
  bool terminal = false;
  bool stdin = false;
};

struct State {
  std::string status;  // created, running, paused, stopped
  int pid = 0;
};

class OciRuntime {
 public:
  virtual ~OciRuntime() = default;
  // Creates the container (not started); returns its pid.
  virtual Result<int> create(const CreateOptions& opts) = 0;
  virtual Result<> start(const std::string& id) = 0;
  virtual Result<> kill(const std::string& id, int signal) = 0;
  // Deletes the runtime's state; with force, kills a live container first.
  virtual Result<> remove(const std::string& id, bool force) = 0;
  virtual Result<State> state(const std::string& id) = 0;
  // Runs a command in a running container and waits for it (ExecSync).
  virtual Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                          std::chrono::milliseconds timeout) = 0;
  // Asks the container's conmon to reopen its log file (after a rotation)
  // and waits until the new file exists.
  virtual Result<> reopenLog(const std::string& bundle, const std::string& logPath) = 0;
  // The exit code conmon recorded, or nothing yet.
  virtual Result<std::optional<int>> exitCode(const std::string& id) = 0;
};

struct RuntimeConfig {
  std::string conmon;       // resolved path
  std::string runtime;      // resolved path of runc/crun/runsc
  std::string runtimeRoot;  // --root
  std::string stateDir;     // exits/ and attach/ live here
  int64_t logSizeMax = -1;
};

std::unique_ptr<OciRuntime> makeConmonRuntime(RuntimeConfig cfg);

}  // namespace crix::oci
