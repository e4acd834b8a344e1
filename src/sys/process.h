// Running short-lived helper commands (runtime probes, CNI plugins later).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace crix::sys {

struct CommandResult {
  int exitCode = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

struct CommandOptions {
  std::chrono::milliseconds timeout{10000};
  std::string stdinData;
  std::vector<std::string> env;  // empty: inherit crixd's environment
  size_t maxOutput = 1 << 20;    // per stream; the rest is read and dropped
  // Runs when the timeout passes, before the command is killed; the command
  // then gets a grace second to exit by itself (e.g. `runc exec` reaping the
  // process this killed inside the container).
  std::function<void()> onTimeout;
};

// Runs argv[0] (an absolute path) with argv, waits for it, and captures its
// output. A command that outlives the timeout is killed and reported as
// DeadlineExceeded.
Result<CommandResult> runCommand(const std::vector<std::string>& argv, const CommandOptions& opts = {});

// Writes all of `data` to the pipe `fd`. A reader that has gone is EPIPE,
// never a SIGPIPE, even in a process that does not ignore it (crixd does; a
// test binary does not): the signal is blocked for the write and taken back.
Result<> writeToPipe(int fd, std::string_view data);

// SIGKILLs a process and all its descendants (found through
// /proc/<pid>/task/*/children), parents first.
void killTree(int pid);

// The exit code of a wait status: the code, or 128 + the signal.
int exitCodeOf(int status);

// What /proc tells about other processes; each is empty (or 0) once the
// process is gone.
std::vector<int> listPids();
std::vector<std::string> processArgs(int pid);     // /proc/<pid>/cmdline, split at NULs
std::vector<std::string> processEnviron(int pid);  // /proc/<pid>/environ, split at NULs
// Field 22 of /proc/<pid>/stat: clock ticks after boot. Together with the
// pid it names one process: a recycled pid has a later start time.
uint64_t processStartTicks(int pid);

}  // namespace crix::sys
