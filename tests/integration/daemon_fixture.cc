#include "integration/daemon_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace crix::test {
namespace {

using namespace std::chrono_literals;

// Pod traffic stays on this machine: a private bridge, no default route.
std::string testConflist(const std::string& ipamDir) {
  return R"({
  "cniVersion": "1.0.0",
  "name": "crix-test",
  "plugins": [
    {"type": "bridge", "bridge": "crixtest0", "isGateway": true,
     "ipam": {"type": "host-local", "subnet": "10.199.0.0/24", "dataDir": ")" +
         ipamDir + R"("}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
})";
}

}  // namespace

Daemon::Daemon(std::string dir, std::string configToml, std::vector<std::string> extraArgs,
               std::vector<std::string> wrapper)
    : dir_(std::move(dir)), args_(std::move(wrapper)), wrapped_(!args_.empty()) {
  std::filesystem::create_directories(dir_ + "/crix.d");
  std::ofstream(dir_ + "/crix.toml") << configToml;
  args_.insert(args_.end(), {CRIXD_PATH, "--config", dir_ + "/crix.toml", "--config-dir", dir_ + "/crix.d"});
  args_.insert(args_.end(), extraArgs.begin(), extraArgs.end());
}

pid_t firstChild(pid_t pid) {
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = 0;
  children >> child;
  return child;
}

pid_t Daemon::crixdPid() const {
  if (!wrapped_ || pid_ <= 0) return pid_;
  return firstChild(pid_);
}

Daemon::~Daemon() {
  if (pid_ <= 0) return;
  // The test's pods go with it: a pod outlives crixd by design, and would
  // stay mounted and running on the host after the test's directory.
  ::runtime::v1::ListPodSandboxResponse pods;
  if (runtime()->ListPodSandbox(rpcContext().get(), {}, &pods).ok()) {
    for (const auto& p : pods.items()) {
      ::runtime::v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(p.id());
      ::runtime::v1::RemovePodSandboxResponse resp;
      (void)runtime()->RemovePodSandbox(rpcContext(30000).get(), req, &resp);
    }
  }
  stop(SIGKILL, 5000);
}

void Daemon::spawn() {
  std::string logPath = dir_ + "/crixd.log";
  std::vector<char*> argv;
  for (auto& a : args_) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ != 0) return;
  // The child: only async-signal-safe calls until exec. A crashing test
  // binary must not leave daemons behind, so the kernel kills this one when
  // the test process dies.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int log = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(null, 0);
  dup2(null, 1);
  dup2(log, 2);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(argv[0], argv.data(), environ);
  _exit(127);
}

::testing::AssertionResult Daemon::start() {
  spawn();
  if (pid_ <= 0) return ::testing::AssertionFailure() << "cannot spawn " << CRIXD_PATH;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  auto stub = runtime();
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "crixd exited during start-up:\n" << log();
    }
    // wait_for_ready keeps this thread in the call, driving the connection
    // handshake; a fail-fast call would leave it to gRPC's 5 s backup poller.
    auto ctx = rpcContext(200);
    ctx->set_wait_for_ready(true);
    ::runtime::v1::VersionRequest req;
    ::runtime::v1::VersionResponse resp;
    if (stub->Version(ctx.get(), req, &resp).ok()) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(10ms);
  }
  return ::testing::AssertionFailure() << "crixd did not serve within 15s:\n" << log();
}

int Daemon::runToExit(int timeoutMs) {
  spawn();
  return waitExit(timeoutMs);
}

int Daemon::waitExit(int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1000;  // timed out
    }
    std::this_thread::sleep_for(5ms);
  }
  return -2000;  // not running
}

int Daemon::stop(int sig, int timeoutMs) {
  if (pid_ <= 0) return -2000;
  pid_t target = crixdPid();
  kill(target > 0 ? target : pid_, sig);
  return waitExit(timeoutMs);
}

std::string Daemon::log() const {
  std::ifstream in(dir_ + "/crixd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// gRPC backs off for seconds between reconnects and shares that state
// between channels to one target; tests talk to daemons that come and go,
// so each channel gets its own subchannels and a short backoff.
std::shared_ptr<grpc::Channel> Daemon::channel() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel("unix://" + socket(), grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<::runtime::v1::RuntimeService::Stub> Daemon::runtime() const {
  return ::runtime::v1::RuntimeService::NewStub(channel());
}

std::unique_ptr<::runtime::v1::ImageService::Stub> Daemon::images() const {
  return ::runtime::v1::ImageService::NewStub(channel());
}

std::unique_ptr<grpc::ClientContext> rpcContext(int ms) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return ctx;
}

nlohmann::json verboseContainerInfo(const Daemon& d, const std::string& id) {
  ::runtime::v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(true);
  ::runtime::v1::ContainerStatusResponse resp;
  EXPECT_TRUE(d.runtime()->ContainerStatus(rpcContext().get(), req, &resp).ok());
  auto it = resp.info().find("info");
  return it == resp.info().end() ? nlohmann::json() : nlohmann::json::parse(it->second, nullptr, false);
}

DaemonTest::DaemonTest() : cniDir_(tmp_ / "cni") {
  std::filesystem::create_directories(cniDir_);
  std::ofstream(cniDir_ + "/10-crix-test.conflist") << testConflist(tmp_ / "ipam");
}

std::string DaemonTest::config(const std::string& extra) const {
  std::string d = tmp_.path();
  return "listen = \"" + d + "/d/run/crix.sock\"\n" + "root = \"" + d + "/d/root\"\n" + "state_dir = \"" + d +
         "/d/run\"\n" + "shutdown_timeout = \"5s\"\n" + extra + "\n[network]\ncni_config_dir = \"" + cniDir_ + "\"\n";
}

std::unique_ptr<Daemon> DaemonTest::startDaemon(const std::string& extraToml, std::vector<std::string> args) {
  auto d = std::make_unique<Daemon>(tmp_ / "d", config(extraToml), std::move(args));
  EXPECT_TRUE(d->start());
  return d;
}

}  // namespace crix::test
