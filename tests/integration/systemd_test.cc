// The systemd cgroup driver under a real systemd: systemd-nspawn boots the
// Debian root that tests/systemd/make-root.sh made (systemd as its PID 1,
// runc and conmon from Debian), crixd runs inside it with the build and the
// test's directories bound at the same paths, and the test drives it over
// its socket from outside. Pods and containers must land in transient
// scopes under the kubelet's slices with their limits, their stats must
// follow the scopes, and neither a stop, a removal nor a crash of crixd may
// leave a scope behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::runtime::v1;
using namespace std::chrono_literals;

// Built once per machine by tests/systemd/make-root.sh (scripts/test.sh
// runs it while the tree compiles).
std::string systemdRoot() {
  const char* env = std::getenv("CRIX_SYSTEMD_ROOT");
  return env ? env : "/var/tmp/crix-systemd-root-1";
}

std::string run(const std::vector<std::string>& argv) {
  auto r = sys::runCommand(argv, {.timeout = std::chrono::seconds(60)});
  if (!r) return "(cannot run " + argv[0] + ": " + r.error().message() + ")";
  return r->out + r->err;
}

// One booted systemd in a cgroup of its own in every hierarchy, so that
// what it and runc make inside is a subtree the test can read from outside.
class BootedSystemd {
 public:
  BootedSystemd(std::string root, std::vector<std::string> binds)
      : root_(std::move(root)), cgroup_("crix-nspawn-" + std::to_string(getpid())) {
    std::vector<std::string> argv = {"systemd-nspawn",
                                     "--quiet",
                                     "--register=no",
                                     "--keep-unit",
                                     "--console=passive",
                                     "--machine=" + cgroup_,
                                     "-b",
                                     "-D",
                                     root_};
    for (const auto& b : binds) argv.push_back("--bind=" + b);
    std::vector<std::string> dirs;
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup")) {
      std::string dir = h.path().string() + "/" + cgroup_;
      fs::create_directories(dir);
      // A new cpuset holds no CPUs or memory nodes until given its parent's.
      for (const char* f : {"cpuset.cpus", "cpuset.mems"})
        if (auto v = sys::readFile(h.path().string() + "/" + f)) std::ofstream(dir + "/" + f) << *v;
      dirs.push_back(dir + "/cgroup.procs");
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<const char*> procs;
    for (const auto& d : dirs) procs.push_back(d.c_str());
    std::string log = logPath();
    nspawn_ = fork();
    if (nspawn_ == 0) {
      // Only async-signal-safe calls until exec: "0" moves the writer.
      for (const char* p : procs) {
        int fd = ::open(p, O_WRONLY);
        if (fd < 0) continue;
        if (::write(fd, "0", 1) != 1) {
        }
        ::close(fd);
      }
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(out, 2);
      execvp("systemd-nspawn", args.data());
      _exit(127);
    }
  }
  ~BootedSystemd() {
    if (nspawn_ > 0) {
      // nspawn asks systemd to power off on SIGTERM.
      ::kill(nspawn_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 300 && ::waitpid(nspawn_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
      if (::waitpid(nspawn_, &status, WNOHANG) == 0) {
        ::kill(nspawn_, SIGKILL);
        ::waitpid(nspawn_, &status, 0);
      }
    }
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup")) removeEmpty(h.path().string() + "/" + cgroup_);
  }

  // Waits for systemd to be up, then makes the v1 hierarchies writable
  // inside (nspawn mounts them read-only) and has systemd look again.
  ::testing::AssertionResult ready() {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(nspawn_, &status, WNOHANG) == nspawn_) {
        nspawn_ = -1;
        return ::testing::AssertionFailure() << "systemd-nspawn exited: " << sys::readFile(logPath()).value_or("");
      }
      if (pid1_ <= 0) pid1_ = firstChild(nspawn_);
      if (pid1_ > 0) {
        std::string state = inside({"systemctl", "is-system-running"});
        if (state.starts_with("running") || state.starts_with("degraded")) break;
      }
      std::this_thread::sleep_for(200ms);
    }
    if (pid1_ <= 0) return ::testing::AssertionFailure() << "no systemd booted within 60 s";
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup")) {
      std::string name = h.path().filename();
      if (name == "unified" || name == "systemd" || !h.is_directory()) continue;
      inside({"mount", "-o", "remount,bind,rw", "/sys/fs/cgroup/" + name});
    }
    inside({"systemctl", "daemon-reexec"});
    std::this_thread::sleep_for(1s);
    return ::testing::AssertionSuccess();
  }

  // A command in all of the booted systemd's namespaces; its output.
  std::string inside(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"/usr/bin/nsenter", "-t", std::to_string(pid1_), "-a", "--"});
    return run(argv);
  }
  std::vector<std::string> nsenter() const { return {"/usr/bin/nsenter", "-t", std::to_string(pid1_), "-a", "--"}; }
  // The host's directory of a cgroup inside (`path` as systemd names it there).
  std::string hostCgroup(const std::string& controller, const std::string& path) const {
    return "/sys/fs/cgroup/" + controller + "/" + cgroup_ + path;
  }
  // Every crix scope anywhere below this systemd, in the memory hierarchy.
  std::vector<std::string> crixScopes() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(hostCgroup("memory", ""), ec); it != fs::end(it); it.increment(ec))
      if (it->is_directory(ec) && it->path().filename().string().starts_with("crix-")) out.push_back(it->path());
    return out;
  }
  std::string logPath() const { return "/tmp/" + cgroup_ + ".log"; }

 private:
  static void removeEmpty(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory(ec)) removeEmpty(e.path());
    ::rmdir(dir.c_str());
  }

  std::string root_, cgroup_;
  pid_t nspawn_ = -1, pid1_ = -1;
};

class SystemdDriverTest : public DaemonTest {
 protected:
  void SetUp() override {
    if (!fs::exists(systemdRoot() + "/.complete"))
      GTEST_SKIP() << "no Debian root with systemd at " << systemdRoot()
                   << " (tests/systemd/make-root.sh makes it; scripts/test.sh runs it)";
    if (run({"/bin/sh", "-c", "command -v systemd-nspawn"}).empty()) GTEST_SKIP() << "systemd-nspawn is not installed";
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
    // crixd's shared libraries, as the host has them (both are Debian 12).
    fs::create_directories(tmp_ / "lib");
    std::istringstream ldd(run({"/usr/bin/ldd", CRIXD_PATH}));
    for (std::string line; std::getline(ldd, line);) {
      auto arrow = line.find("=> /");
      if (arrow == std::string::npos) continue;
      std::string lib = line.substr(arrow + 3, line.find(' ', arrow + 3) - arrow - 3);
      fs::copy_file(lib, tmp_ / ("lib/" + fs::path(lib).filename().string()), fs::copy_options::overwrite_existing);
    }
    node_ = std::make_unique<BootedSystemd>(systemdRoot(), std::vector<std::string>{tmp_.path(), BUILD_DIR});
    auto up = node_->ready();
    if (!up) GTEST_SKIP() << "systemd-nspawn cannot boot systemd here: " << up.message();
    toml_ = config("[runtime]\ncgroup_driver = \"systemd\"\n[image]\npause_image = \"" + reg.ref("crix/pause:1") +
                   "\"\n" + reg.configToml() + "\n");
    d_ = startInside();
    ASSERT_TRUE(d_ && d_->running());
  }
  void TearDown() override {
    d_.reset();
    if (node_) {
      EXPECT_EQ(node_->crixScopes(), std::vector<std::string>{}) << "scopes left after the test";
    }
    node_.reset();
  }
  std::unique_ptr<Daemon> startInside() {
    auto wrapper = node_->nsenter();
    wrapper.insert(wrapper.end(), {"/usr/bin/env", "LD_LIBRARY_PATH=" + tmp_ / "lib"});
    auto d = std::make_unique<Daemon>(tmp_ / "d", toml_, std::vector<std::string>{}, wrapper);
    auto started = d->start();
    EXPECT_TRUE(started) << node_->inside({"journalctl", "-n", "30", "--no-pager"});
    return d;
  }
  std::string runPod() {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("pod");
    c->mutable_metadata()->set_namespace_("default");
    c->mutable_metadata()->set_uid("pod-uid");
    c->mutable_linux()->set_cgroup_parent("kubepods-besteffort-podtest.slice");
    c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
    c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
    v1::RunPodSandboxResponse resp;
    auto s = d_->runtime()->RunPodSandbox(rpcContext(60000).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    podConfig_ = req.config();
    return resp.pod_sandbox_id();
  }
  std::string runContainer(const std::string& pod, const std::string& name) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_sandbox_config() = podConfig_;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(TestRegistry::get().ref("crix/busybox:1.35"));
    c->add_command("sleep");
    c->add_command("3600");
    c->mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(64 << 20);
    c->mutable_linux()->mutable_resources()->set_cpu_quota(20000);
    c->mutable_linux()->mutable_resources()->set_cpu_period(100000);
    v1::CreateContainerResponse created;
    auto s = d_->runtime()->CreateContainer(rpcContext(60000).get(), req, &created);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    s = d_->runtime()->StartContainer(rpcContext(60000).get(), start, &started);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    return created.container_id();
  }
  // Where systemd puts a crix scope of `id` below the pod's slice.
  std::string scope(const std::string& controller, const std::string& id) const {
    return node_->hostCgroup(
        controller,
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podtest.slice/crix-" + id + ".scope");
  }

  std::unique_ptr<BootedSystemd> node_;
  std::unique_ptr<Daemon> d_;
  std::string toml_;
  v1::PodSandboxConfig podConfig_;
};

TEST_F(SystemdDriverTest, ContainersLandInScopesUnderThePodsSliceAndLeaveNoneBehind) {
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox:1.35"));
  v1::PullImageResponse pulled;
  ASSERT_TRUE(d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled).ok()) << d_->log();
  std::string pod = runPod();
  ASSERT_FALSE(pod.empty());
  EXPECT_TRUE(fs::exists(scope("memory", pod))) << "the infra container's scope";
  std::string id = runContainer(pod, "limited");
  ASSERT_FALSE(id.empty());

  // The scope is systemd's, with the container's limits in every hierarchy.
  EXPECT_EQ(node_->inside({"systemctl", "is-active", "crix-" + id + ".scope"}), "active\n");
  EXPECT_EQ(sys::readFile(scope("memory", id) + "/memory.limit_in_bytes").value_or(""),
            std::to_string(64 << 20) + "\n");
  EXPECT_EQ(sys::readFile(scope("cpu", id) + "/cpu.cfs_quota_us").value_or(""), "20000\n");

  // Stats come from the scope.
  v1::ContainerStatsRequest statsReq;
  statsReq.set_container_id(id);
  v1::ContainerStatsResponse stats;
  ASSERT_TRUE(d_->runtime()->ContainerStats(rpcContext().get(), statsReq, &stats).ok());
  EXPECT_GT(stats.stats().memory().working_set_bytes().value(), 0u);

  // An update reaches the scope too.
  v1::UpdateContainerResourcesRequest up;
  up.set_container_id(id);
  up.mutable_linux()->set_memory_limit_in_bytes(96 << 20);
  v1::UpdateContainerResourcesResponse upResp;
  auto s = d_->runtime()->UpdateContainerResources(rpcContext(30000).get(), up, &upResp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(sys::readFile(scope("memory", id) + "/memory.limit_in_bytes").value_or(""),
            std::to_string(96 << 20) + "\n");

  // A stopped container's scope is gone.
  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(5);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(30000).get(), stop, &stopped).ok());
  for (int i = 0; i < 50 && fs::exists(scope("memory", id)); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fs::exists(scope("memory", id)));

  // crixd killed while a container runs: after the restart, removing the
  // pod leaves no scope of either.
  std::string survivor = runContainer(pod, "survivor");
  ASSERT_TRUE(fs::exists(scope("memory", survivor)));
  d_->stop(SIGKILL);
  d_ = startInside();
  ASSERT_TRUE(d_->running());
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(pod);
  v1::RemovePodSandboxResponse removed;
  s = d_->runtime()->RemovePodSandbox(rpcContext(60000).get(), rm, &removed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 50 && !node_->crixScopes().empty(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(node_->crixScopes(), std::vector<std::string>{});
  EXPECT_EQ(node_->inside({"sh", "-c", "systemctl list-units --all --no-legend 'crix-*' | wc -l"}), "0\n");
}

}  // namespace
}  // namespace crix::test
