#include "oci/stream_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace crix::oci {
namespace {

constexpr size_t kReadSize = 32 << 10;

Result<> writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return failErrno("write stdin", errno);
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return {};
}

class ExecProcess final : public StreamProcess {
 public:
  ExecProcess(pid_t pid, std::string pidFile, sys::UniqueFd in, sys::UniqueFd out, sys::UniqueFd err, bool tty)
      : pid_(pid),
        pidFile_(std::move(pidFile)),
        in_(std::move(in)),
        out_(std::move(out)),
        err_(std::move(err)),
        tty_(tty) {}

  ~ExecProcess() override {
    if (!reaped()) {
      abort();
      (void)wait();
    }
    ::unlink(pidFile_.c_str());
    ::unlink((pidFile_ + ".process.json").c_str());
  }

  std::optional<std::pair<int, std::string>> read() override {
    std::string buf(kReadSize, '\0');
    while (out_.valid() || err_.valid()) {
      pollfd p[2] = {{out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return std::nullopt;
      }
      for (int i = 0; i < 2; ++i) {
        if (!p[i].revents) continue;
        sys::UniqueFd& fd = i == 0 ? out_ : err_;
        ssize_t r = ::read(fd.get(), buf.data(), buf.size());
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {  // EOF, or EIO once the terminal's other side is gone
          fd.reset();
          continue;
        }
        buf.resize(static_cast<size_t>(r));
        return std::make_pair(i + 1, std::move(buf));
      }
    }
    return std::nullopt;
  }

  Result<> writeStdin(std::string_view data) override {
    std::lock_guard lock(inMu_);
    if (!in_.valid()) return fail(Code::FailedPrecondition, "stdin is closed");
    return writeAll(in_.get(), data);
  }

  void closeStdin() override {
    std::lock_guard lock(inMu_);
    if (!tty_) {
      in_.reset();
    } else if (in_.valid()) {
      // The terminal is also the output: end the input the way a user
      // would, with ^D.
      (void)writeAll(in_.get(), "\x04");
    }
  }

  void resize(uint16_t width, uint16_t height) override {
    if (!tty_) return;
    winsize ws{};
    ws.ws_col = width;
    ws.ws_row = height;
    std::lock_guard lock(inMu_);
    if (in_.valid()) ::ioctl(in_.get(), TIOCSWINSZ, &ws);
  }

  Result<int> wait() override {
    std::lock_guard lock(waitMu_);
    if (exitCode_) return *exitCode_;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return failErrno("wait for runtime exec", errno);
    }
    exitCode_ = sys::exitCodeOf(status);
    return *exitCode_;
  }

  void abort() override {
    std::lock_guard lock(waitMu_);
    if (exitCode_) return;
    // The process inside first: killing runc alone would leave it running.
    // runc writes the pid file only once that process runs, so a client
    // that leaves at once can get here first: wait for it while runc lives.
    for (int i = 0; i < 300; ++i) {
      if (auto pid = sys::readFile(pidFile_); pid && !pid->empty()) {
        sys::killTree(std::atoi(pid->c_str()));
        break;
      }
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0)
        break;  // runc is gone: nothing of its runs
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
  }

 private:
  bool reaped() {
    std::lock_guard lock(waitMu_);
    return exitCode_.has_value();
  }

  pid_t pid_;
  std::string pidFile_;
  std::mutex inMu_;
  sys::UniqueFd in_;  // with a terminal: its master side, also out_'s duplicate
  sys::UniqueFd out_, err_;
  bool tty_;
  std::mutex waitMu_;
  std::optional<int> exitCode_;
};

struct Argv {
  std::vector<std::string> strings;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> s) : strings(std::move(s)) {
    for (auto& a : strings) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
  }
};

Result<std::unique_ptr<StreamProcess>> startWithPipes(const Argv& argv, const std::string& pidFile,
                                                      const ExecStreamOptions& opts) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto makePipe = [](int p[2], bool want) { return !want || ::pipe2(p, O_CLOEXEC) == 0; };
  if (!makePipe(in, opts.stdin) || !makePipe(out, opts.stdout) || !makePipe(err, opts.stderr))
    return failErrno("pipe", errno);
  sys::UniqueFd inR(in[0]), inW(in[1]), outR(out[0]), outW(out[1]), errR(err[0]), errW(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto wire = [&](const sys::UniqueFd& fd, int target, int mode) {
    if (fd.valid())
      posix_spawn_file_actions_adddup2(&fa, fd.get(), target);
    else
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", mode, 0);
  };
  wire(inR, 0, O_RDONLY);
  wire(outW, 1, O_WRONLY);
  wire(errW, 2, O_WRONLY);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv.ptrs[0], &fa, &attr, argv.ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return failErrno("spawn " + argv.strings[0], rc);
  return std::unique_ptr<StreamProcess>(
      new ExecProcess(pid, pidFile, std::move(inW), std::move(outR), std::move(errR), false));
}

Result<std::unique_ptr<StreamProcess>> startWithTerminal(const Argv& argv, const std::string& pidFile,
                                                         const ExecStreamOptions& opts) {
  sys::UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return failErrno("open a pseudo-terminal", errno);
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) return failErrno("unlock pseudo-terminal", errno);
  char name[64];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) return failErrno("ptsname", errno);
  if (opts.width > 0 && opts.height > 0) {
    winsize ws{};
    ws.ws_col = opts.width;
    ws.ws_row = opts.height;
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  sys::UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) return failErrno("open " + std::string(name), errno);
  // Raw from the start: runc makes it raw too, but only after it has
  // started, and anything echoed before then would reach the client.
  termios raw{};
  if (::tcgetattr(slave.get(), &raw) == 0) {
    ::cfmakeraw(&raw);
    ::tcsetattr(slave.get(), TCSANOW, &raw);
  }
  sys::UniqueFd out(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
  if (!out.valid()) return failErrno("dup pseudo-terminal", errno);

  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork", errno);
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setsid();
    ::ioctl(slave.get(), TIOCSCTTY, 0);
    for (int target = 0; target < 3; ++target) ::dup2(slave.get(), target);
    ::execve(argv.ptrs[0], argv.ptrs.data(), environ);
    ::_exit(127);
  }
  return std::unique_ptr<StreamProcess>(
      new ExecProcess(pid, pidFile, std::move(master), std::move(out), sys::UniqueFd(), true));
}

class Attachment final : public StreamProcess {
 public:
  Attachment(sys::UniqueFd sock, std::string ctlFifo) : sock_(std::move(sock)), ctlFifo_(std::move(ctlFifo)) {}

  std::optional<std::pair<int, std::string>> read() override {
    std::string buf(kReadSize + 1, '\0');
    for (;;) {
      ssize_t r = ::recv(sock_.get(), buf.data(), buf.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return std::nullopt;
      // conmon numbers its pipes stdin 1, stdout 2, stderr 3.
      int pipe = static_cast<unsigned char>(buf[0]);
      if (r == 1 || (pipe != 2 && pipe != 3)) continue;
      return std::make_pair(pipe - 1, buf.substr(1, static_cast<size_t>(r) - 1));
    }
  }

  Result<> writeStdin(std::string_view data) override {
    // conmon reads each packet into a buffer of this size.
    constexpr size_t kPacket = 8192;
    while (!data.empty()) {
      size_t n = std::min(data.size(), kPacket);
      ssize_t w = ::send(sock_.get(), data.data(), n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        return failErrno("write to the container's stdin", errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return {};
  }

  void closeStdin() override { ::shutdown(sock_.get(), SHUT_WR); }

  void resize(uint16_t width, uint16_t height) override {
    // conmon's control fifo: "<type> <height> <width>"; type 1 resizes.
    sys::UniqueFd fd(::open(ctlFifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return;
    std::string msg = "1 " + std::to_string(height) + " " + std::to_string(width) + "\n";
    (void)::write(fd.get(), msg.data(), msg.size());
  }

  Result<int> wait() override { return 0; }

  void abort() override { ::shutdown(sock_.get(), SHUT_RDWR); }

 private:
  sys::UniqueFd sock_;
  std::string ctlFifo_;
};

// The container's own process with these args, a terminal of the given
// size and TERM set: `runc exec --process` sizes the terminal before the
// command runs, where a resize afterwards would race with the command.
Result<std::string> sizedTerminalProcess(const std::string& bundle, const std::vector<std::string>& args,
                                         const ExecStreamOptions& opts) {
  std::string text = TRY(sys::readFile(Paths::bundleSpec(bundle)));
  auto spec = nlohmann::json::parse(text, nullptr, false);
  if (!spec.is_object() || !spec.contains("process")) return fail(Code::Internal, "no process in " + bundle);
  nlohmann::json p = spec["process"];
  p["args"] = args;
  p["terminal"] = true;
  p["consoleSize"] = {{"height", opts.height}, {"width", opts.width}};
  auto& env = p["env"];
  if (!env.is_array()) env = nlohmann::json::array();
  bool hasTerm = std::any_of(env.begin(), env.end(), [](const nlohmann::json& e) {
    return e.is_string() && e.get<std::string>().rfind("TERM=", 0) == 0;
  });
  if (!hasTerm) env.push_back("TERM=xterm");
  return p.dump();
}

}  // namespace

Result<std::unique_ptr<StreamProcess>> startExec(const std::vector<std::string>& runtime, const std::string& pidFile,
                                                 const std::string& id, const std::vector<std::string>& args,
                                                 const ExecStreamOptions& opts) {
  std::vector<std::string> argv = runtime;
  argv.insert(argv.end(), {"exec", "--pid-file", pidFile});
  if (opts.tty && opts.width > 0 && opts.height > 0 && !opts.bundle.empty()) {
    std::string processFile = Paths::execProcessFile(pidFile);
    std::string process = TRY(sizedTerminalProcess(opts.bundle, args, opts));
    TRY(sys::writeFileAtomic(processFile, process, 0600));
    argv.insert(argv.end(), {"--process", processFile, id});
  } else {
    if (opts.tty) argv.insert(argv.end(), {"--tty", "--env", "TERM=xterm"});
    argv.push_back(id);
    argv.insert(argv.end(), args.begin(), args.end());
  }
  Argv a(std::move(argv));
  return opts.tty ? startWithTerminal(a, pidFile, opts) : startWithPipes(a, pidFile, opts);
}

Result<std::unique_ptr<StreamProcess>> connectAttach(const std::string& bundle) {
  // The socket lives in the bundle, whose path may be longer than a socket
  // address allows: connect through a descriptor of the directory.
  sys::UniqueFd dir(::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return failErrno("open bundle " + bundle, errno);
  sys::UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return failErrno("attach socket", errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = Paths::bundleAttachSocket("/proc/self/fd/" + std::to_string(dir.get()));
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return failErrno("connect to conmon's attach socket in " + bundle, errno);
  return std::unique_ptr<StreamProcess>(new Attachment(std::move(sock), Paths::bundleControlFifo(bundle)));
}

}  // namespace crix::oci
