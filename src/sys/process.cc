#include "sys/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <sstream>
#include <string_view>

#include "common/parse.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace crix::sys {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failErrno("pipe", errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<char*> cArgs(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<> writeToPipe(int fd, std::string_view data) {
  sigset_t pipeOnly, old;
  sigemptyset(&pipeOnly);
  sigaddset(&pipeOnly, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipeOnly, &old);
  int error = 0;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  // The SIGPIPE a closed reader raised in this thread is taken back, unless
  // it was blocked before (then it was the caller's to take).
  if (error == EPIPE && !sigismember(&old, SIGPIPE)) {
    struct timespec now {};
    while (sigtimedwait(&pipeOnly, nullptr, &now) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (error != 0) return failErrno("write to pipe", error);
  return {};
}

Result<CommandResult> runCommand(const std::vector<std::string>& argv, const CommandOptions& opts) {
  if (argv.empty()) return fail(Code::InvalidArgument, "run: empty command");
  const std::string& prog = argv[0];
  Pipe in = TRY(makePipe());
  Pipe out = TRY(makePipe());
  Pipe err = TRY(makePipe());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  // crixd blocks its termination signals in every thread; children must not inherit that.
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  auto args = cArgs(argv);
  auto envs = cArgs(opts.env);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, prog.c_str(), &actions, &attr, args.data(), opts.env.empty() ? environ : envs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return failErrno("spawn " + prog, rc);
  in.read.reset();
  out.write.reset();
  err.write.reset();

  // Feed stdin in one go; helper inputs are small (a CNI config, a spec).
  // A child that closes it early: its exit status tells the rest.
  if (!opts.stdinData.empty()) (void)writeToPipe(in.write.get(), opts.stdinData);
  in.write.reset();

  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  bool timedOut = false;
  struct pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      size_t room = opts.maxOutput > sinks[i]->size() ? opts.maxOutput - sinks[i]->size() : 0;
      sinks[i]->append(buf, std::min(room, static_cast<size_t>(r)));
    }
  }
  int status = 0;
  bool reaped = false;
  if (timedOut && opts.onTimeout) {
    opts.onTimeout();
    for (int i = 0; i < 100 && !reaped; ++i) {
      reaped = ::waitpid(pid, &status, WNOHANG) == pid;
      if (!reaped) ::usleep(10000);
    }
  }
  if (timedOut && !reaped) ::kill(pid, SIGKILL);
  while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut)
    return fail(Code::DeadlineExceeded,
                prog + " did not finish within " + std::to_string(opts.timeout.count()) + "ms and was killed");
  if (WIFEXITED(status)) result.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace crix::sys

namespace crix::sys {

void killTree(int pid) {
  std::vector<int> all{pid};
  for (size_t i = 0; i < all.size(); ++i) {
    std::string dir = "/proc/" + std::to_string(all[i]) + "/task";
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(dir, ec)) {
      auto children = readFile(t.path().string() + "/children");
      if (!children) continue;
      std::istringstream in(*children);
      for (int c; in >> c;) all.push_back(c);
    }
  }
  for (int p : all) ::kill(p, SIGKILL);
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<int> listPids() {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    // Only the numeric names are processes; none is beyond an int.
    if (auto pid = parseNumber<int>(e.path().filename().string()); pid && *pid > 0) pids.push_back(*pid);
  }
  return pids;
}

namespace {
std::vector<std::string> nulSeparated(const std::string& path) {
  std::vector<std::string> out;
  auto text = readFile(path);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto end = rest.find('\0');
    out.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return out;
}
}  // namespace

std::vector<std::string> processArgs(int pid) {
  return nulSeparated("/proc/" + std::to_string(pid) + "/cmdline");
}

std::vector<std::string> processEnviron(int pid) {
  return nulSeparated("/proc/" + std::to_string(pid) + "/environ");
}

uint64_t processStartTicks(int pid) {
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // The command name may hold spaces and parentheses: count fields after the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat->substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && in >> field; ++i)
    if (i == 22) return parseNumber<uint64_t>(field).value_or(0);
  return 0;
}

}  // namespace crix::sys
