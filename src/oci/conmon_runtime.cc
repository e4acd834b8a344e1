#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/parse.h"
#include "oci/runtime.h"
#include "oci/stream_process.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace crix::oci {
namespace {

class ConmonRuntime final : public OciRuntime {
 public:
  explicit ConmonRuntime(RuntimeConfig cfg) : cfg_(std::move(cfg)), paths_(cfg_.paths()) {}

  Result<int> create(const CreateOptions& o) override {
    TRY(sys::mkdirAll(paths_.exitsDir(), 0700));
    TRY(sys::mkdirAll(paths_.attachDir(), 0700));
    std::vector<std::string> args = {cfg_.conmon,
                                     "--api-version",
                                     "1",
                                     "-c",
                                     o.id,
                                     "-u",
                                     o.id,
                                     "-n",
                                     o.id,
                                     "-r",
                                     cfg_.runtime,
                                     "-b",
                                     o.bundle,
                                     "-p",
                                     Paths::bundlePidFile(o.bundle),
                                     "-P",
                                     Paths::bundleConmonPidFile(o.bundle),
                                     "-l",
                                     "k8s-file:" + o.logPath,
                                     "--exit-dir",
                                     paths_.exitsDir(),
                                     "--socket-dir-path",
                                     paths_.attachDir(),
                                     "--runtime-arg",
                                     "--root=" + cfg_.runtimeRoot,
                                     "--log-level",
                                     "error",
                                     "--syslog"};
    if (cfg_.systemdCgroup) args.insert(args.end(), {"--systemd-cgroup", "--runtime-arg", "--systemd-cgroup"});
    for (const auto& a : cfg_.runtimeArgs) args.insert(args.end(), {"--runtime-arg", a});
    if (cfg_.logSizeMax > 0) args.insert(args.end(), {"--log-size-max", std::to_string(cfg_.logSizeMax)});
    if (o.terminal) args.push_back("-t");
    if (o.stdin) args.push_back("-i");
    if (o.stdin && !o.stdinOnce) args.push_back("--leave-stdin-open");

    // conmon reports the container pid (or the runtime's error) as JSON on
    // the sync pipe, and waits on the start pipe before it runs the runtime.
    int sync[2], start[2];
    if (::pipe2(sync, O_CLOEXEC) != 0 || ::pipe2(start, O_CLOEXEC) != 0) return failErrno("pipe", errno);
    sys::UniqueFd syncRead(sync[0]), syncWrite(sync[1]), startRead(start[0]), startWrite(start[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, syncWrite.get(), 3);
    posix_spawn_file_actions_adddup2(&fa, startRead.get(), 4);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    // Its own session: conmon must not die with crixd's terminal or group.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    std::vector<std::string> env = {"_OCI_SYNCPIPE=3", "_OCI_STARTPIPE=4",
                                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, cfg_.conmon.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return failErrno("spawn conmon " + cfg_.conmon, rc);
    syncWrite.reset();
    startRead.reset();
    if (auto wrote = sys::writeToPipe(startWrite.get(), "0"); !wrote)
      return fail(Code::Internal, "start conmon: " + wrote.error().message());
    startWrite.reset();
    // The first conmon forks its monitor and exits.
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    std::string msg;
    char buf[4096];
    for (;;) {
      pollfd p{syncRead.get(), POLLIN, 0};
      int n = ::poll(&p, 1, 60000);
      if (n == 0) return fail(Code::DeadlineExceeded, "container " + o.id + ": conmon did not report within 60s");
      if (n < 0 && errno == EINTR) continue;
      ssize_t r = ::read(syncRead.get(), buf, sizeof buf);
      if (r <= 0) break;
      msg.append(buf, static_cast<size_t>(r));
      if (msg.find('}') != std::string::npos) break;
    }
    auto j = nlohmann::json::parse(msg, nullptr, false);
    if (!j.is_object())
      return fail(Code::Internal,
                  "container " + o.id + ": conmon exited without reporting (status " + std::to_string(status) + ")");
    int cpid = j.contains("data") ? j["data"].get<int>() : j.value("pid", -1);
    if (cpid <= 0)
      return fail(Code::Internal, "create container " + o.id + ": " + j.value("message", "runtime failed"));
    return cpid;
  }

  Result<> start(const std::string& id) override { return runtime({"start", id}, "start"); }

  Result<> kill(const std::string& id, int signal) override {
    return runtime({"kill", id, std::to_string(signal)}, "kill");
  }

  Result<> remove(const std::string& id, bool force) override {
    std::vector<std::string> args = {"delete"};
    if (force) args.push_back("--force");
    args.push_back(id);
    auto r = runtime(args, "delete");
    if (!r && r.error().message().find("does not exist") != std::string::npos) return {};
    return r;
  }

  Result<State> state(const std::string& id) override {
    std::vector<std::string> argv = command();
    argv.insert(argv.end(), {"state", id});
    auto out = TRY(sys::runCommand(argv));
    if (out.exitCode != 0) {
      if (out.err.find("does not exist") != std::string::npos)
        return fail(Code::NotFound, "container " + id + " does not exist in the runtime");
      return fail(Code::Internal, "runtime state " + id + ": " + out.err);
    }
    auto j = nlohmann::json::parse(out.out, nullptr, false);
    if (!j.is_object()) return fail(Code::Internal, "runtime state " + id + ": not JSON");
    return State{j.value("status", ""), j.value("pid", 0)};
  }

  Result<> update(const std::string& id, const std::string& resourcesJson) override {
    std::vector<std::string> argv = command();
    argv.insert(argv.end(), {"update", "--resources", "-", id});
    auto out = TRY(sys::runCommand(argv, {.timeout = std::chrono::seconds(60), .stdinData = resourcesJson}));
    if (out.exitCode != 0)
      return fail(Code::Internal, "runtime update " + id + ": " + (out.err.empty() ? out.out : out.err));
    return {};
  }

  Result<sys::CommandResult> exec(const std::string& id, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) override {
    // The pid file lets a timed-out command be killed inside the container:
    // killing `runc exec` alone would leave it running there.
    TRY(sys::mkdirAll(paths_.execDir(), 0700));
    std::string pidFile = execPidFile(id);
    std::vector<std::string> argv = command();
    argv.insert(argv.end(), {"exec", "--pid-file", pidFile, id});
    argv.insert(argv.end(), args.begin(), args.end());
    // On timeout the process dies first, so that `runc exec` reaps it: an
    // orphan would go to the container's init, which may never reap it.
    auto r = sys::runCommand(argv, {.timeout = timeout, .maxOutput = 16 << 20, .onTimeout = [&] {
                                      if (auto pid = sys::readFile(pidFile); pid && !pid->empty())
                                        sys::killTree(std::atoi(pid->c_str()));
                                    }});
    ::unlink(pidFile.c_str());
    return r;
  }

  Result<std::unique_ptr<StreamProcess>> execStream(const std::string& id, const std::vector<std::string>& args,
                                                    const ExecStreamOptions& opts) override {
    TRY(sys::mkdirAll(paths_.execDir(), 0700));
    return startExec(command(), execPidFile(id), id, args, opts);
  }

  Result<std::unique_ptr<StreamProcess>> attach(const std::string&, const std::string& bundle) override {
    return connectAttach(bundle);
  }

  Result<> reopenLog(const std::string& bundle, const std::string& logPath) override {
    // conmon's control fifo: "<type> <height> <width>"; type 2 reopens the log.
    sys::UniqueFd fd(::open(Paths::bundleControlFifo(bundle).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return failErrno("open conmon control fifo in " + bundle, errno);
    const char msg[] = "2 0 0\n";
    if (::write(fd.get(), msg, sizeof msg - 1) < 0) return failErrno("ask conmon to reopen its log", errno);
    for (int i = 0; i < 200; ++i) {
      if (::access(logPath.c_str(), F_OK) == 0) return {};
      ::usleep(5000);
    }
    return fail(Code::DeadlineExceeded, "conmon did not reopen " + logPath + " within 1s");
  }

  Result<std::optional<int>> exitCode(const std::string& id) override {
    std::string path = paths_.exitFile(id);
    auto text = sys::readFile(path);
    if (!text) return std::optional<int>();
    std::string_view code = *text;
    while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) code.remove_suffix(1);
    while (!code.empty() && std::isspace(static_cast<unsigned char>(code.front()))) code.remove_prefix(1);
    if (code.empty()) return std::optional<int>();  // conmon has not written it yet
    auto n = parseNumber<int>(code);
    if (!n)
      return fail(Code::Internal,
                  "exit file " + path + " holds \"" + std::string(code.substr(0, 32)) + "\", not an exit code");
    return std::optional<int>(*n);
  }

 private:
  // The runtime's command line up to its subcommand.
  std::vector<std::string> command() const { return runtimeCommand(cfg_); }

  // A fresh pid file for one exec.
  std::string execPidFile(const std::string& id) {
    static std::atomic<uint64_t> counter{0};
    return paths_.execPidFile(id, counter++);
  }

  Result<> runtime(const std::vector<std::string>& args, const std::string& what) {
    std::vector<std::string> argv = command();
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = TRY(sys::runCommand(argv, {.timeout = std::chrono::seconds(60)}));
    if (out.exitCode != 0)
      return fail(Code::Internal, "runtime " + what + " " + args.back() + ": " + (out.err.empty() ? out.out : out.err));
    return {};
  }

  RuntimeConfig cfg_;
  const Paths paths_;
};

}  // namespace

std::unique_ptr<OciRuntime> makeConmonRuntime(RuntimeConfig cfg) {
  return std::make_unique<ConmonRuntime>(std::move(cfg));
}

}  // namespace crix::oci
