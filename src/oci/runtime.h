// The OCI runtime driver: containers are created through conmon (which
// parents them, keeps their stdio and writes their exit files) and then
// driven with the runtime's CLI (runc, crun, runsc). What it and conmon
// keep under <state_dir> (exits/, attach/, exec/) and in a bundle (pid
// files, conmon's control fifo and attach socket) is drawn in
// common/paths.h.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/paths.h"
#include "sys/process.h"

namespace crix::oci {

struct CreateOptions {
  std::string id;
  std::string bundle;   // holds config.json
  std::string logPath;  // CRI-format log, written by conmon
  bool terminal = false;
  bool stdin = false;
  bool stdinOnce = false;  // conmon closes the container's stdin when the first attach ends
};

// A process or a container's stdio, held for a streaming client (exec and
// attach). Output comes as (1 = stdout | 2 = stderr, bytes).
class StreamProcess {
 public:
  virtual ~StreamProcess() = default;
  // Blocks for output; nothing once it has ended.
  virtual std::optional<std::pair<int, std::string>> read() = 0;
  virtual Result<> writeStdin(std::string_view data) = 0;
  virtual void closeStdin() = 0;
  virtual void resize(uint16_t width, uint16_t height) = 0;
  // The exit code, after read() has ended (0 for an attach).
  virtual Result<int> wait() = 0;
  // Kills an exec'd process (with what it started) or detaches an attach.
  virtual void abort() = 0;
};

struct ExecStreamOptions {
  bool tty = false, stdin = false, stdout = false, stderr = false;
  uint16_t width = 0, height = 0;  // the terminal's first size, when known
  std::string bundle;              // the container's bundle: its process is the template
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
  // Applies new linux.resources (cpu, memory, pids) to a live container.
  virtual Result<> update(const std::string& id, const std::string& resourcesJson) = 0;
  // Runs a command in a running container and waits for it (ExecSync).
  virtual Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                          std::chrono::milliseconds timeout) = 0;
  // Starts a command in a running container for a streaming client.
  virtual Result<std::unique_ptr<StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& args,
                                                            const ExecStreamOptions& opts) = 0;
  // Connects to the container's stdio through conmon's attach socket.
  virtual Result<std::unique_ptr<StreamProcess>> attach(const std::string& id, const std::string& bundle) = 0;
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
  std::string stateDir;     // exits/, attach/ and exec/ live here
  int64_t logSizeMax = -1;
  std::vector<std::string> runtimeArgs;  // global flags, after --root, before every subcommand
  // The systemd cgroup driver: cgroupsPath is "slice:prefix:name", and the
  // runtime (and conmon) ask systemd for a transient scope.
  bool systemdCgroup = false;

  // The layout under stateDir; the driver keeps nothing under the root.
  Paths paths() const { return Paths("", stateDir); }
};

// The runtime's command line up to its subcommand: binary, --root, global flags.
inline std::vector<std::string> runtimeCommand(const RuntimeConfig& cfg) {
  std::vector<std::string> argv = {cfg.runtime, "--root=" + cfg.runtimeRoot};
  if (cfg.systemdCgroup) argv.push_back("--systemd-cgroup");
  argv.insert(argv.end(), cfg.runtimeArgs.begin(), cfg.runtimeArgs.end());
  return argv;
}

std::unique_ptr<OciRuntime> makeConmonRuntime(RuntimeConfig cfg);

}  // namespace crix::oci
