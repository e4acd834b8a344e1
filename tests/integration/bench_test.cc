// crixctl bench, the real binary, against the real crixd: each scenario at a
// small size, its JSON report, and that it leaves nothing behind, also when
// interrupted.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/process.h"

extern char** environ;

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;
using nlohmann::json;

class BenchTest : public DaemonTest {
 protected:
  void SetUp() override {
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
    d_ = startDaemon("[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml());
    ASSERT_TRUE(d_->running());
  }
  void TearDown() override {
    d_.reset();
    (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
  }

  std::vector<std::string> argv(const std::vector<std::string>& args) {
    std::vector<std::string> all = {CRIXCTL_PATH,
                                    "-r",
                                    d_->socket(),
                                    "bench",
                                    "--json",
                                    "--sample-ms",
                                    "20",
                                    "--image",
                                    TestRegistry::get().ref("crix/busybox:1.35"),
                                    "--log-dir",
                                    tmp_ / "benchlogs"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }

  // Runs crixctl bench and returns its whole JSON report.
  json bench(const std::vector<std::string>& args) {
    auto r = sys::runCommand(argv(args), {.timeout = std::chrono::seconds(60)});
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return json::object();
    EXPECT_EQ(r->exitCode, 0) << r->err << r->out << d_->log();
    auto doc = json::parse(r->out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r->out;
    return doc;
  }

  static void expectOps(const json& run, const std::map<std::string, int>& counts) {
    for (const auto& [op, n] : counts) {
      EXPECT_EQ(run["operations"][op]["count"], n) << op << " in " << run.dump(2);
      EXPECT_EQ(run["operations"][op]["errors"], 0) << op << " in " << run.dump(2);
    }
  }

  void expectNothingLeft() {
    v1::ListPodSandboxResponse pods;
    ASSERT_TRUE(d_->runtime()->ListPodSandbox(rpcContext().get(), {}, &pods).ok());
    EXPECT_EQ(pods.items_size(), 0);
    v1::ListContainersResponse containers;
    ASSERT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), {}, &containers).ok());
    EXPECT_EQ(containers.containers_size(), 0);
    EXPECT_TRUE(fs::is_empty(tmp_ / "benchlogs"));  // the run's log directories went too
  }

  void podScenario() {
    auto doc = bench({"pod", "--count", "3", "--concurrency", "2"});
    auto run = doc["runs"][0];
    EXPECT_EQ(run["runtime"]["name"], "crix");
    EXPECT_EQ(run["iterations"]["ok"], 3);
    EXPECT_EQ(run["iterations"]["failed"], 0);
    EXPECT_GT(run["throughput_per_s"], 0);
    expectOps(run, {{"RunPodSandbox", 3}, {"StopPodSandbox", 3}, {"RemovePodSandbox", 3}});
    EXPECT_GE(run["operations"]["RunPodSandbox"]["max_ms"], run["operations"]["RunPodSandbox"]["p50_ms"]);
    // The daemon is found from its socket.
    EXPECT_EQ(run["memory"]["daemon_pid"], d_->pid()) << run["memory"].dump();
    EXPECT_GT(run["memory"]["idle"]["daemon"]["pss_kb"], 0);
    EXPECT_EQ(run["left_behind"], 0);
    expectNothingLeft();
  }

  void execScenario() {
    auto run = bench({"exec", "--count", "3"})["runs"][0];
    EXPECT_EQ(run["iterations"]["ok"], 3);
    expectOps(
        run,
        {{"RunPodSandbox", 1}, {"CreateContainer", 1}, {"StartContainer", 1}, {"ExecSync", 3}, {"Exec+stream", 3}});
    expectNothingLeft();
  }

  void portForwardScenario() {
    auto run = bench({"portforward", "--count", "2", "--bytes", "1000000"})["runs"][0];
    EXPECT_EQ(run["iterations"]["ok"], 2);
    expectOps(run, {{"RunPodSandbox", 1}, {"PortForward GET", 2}});
    expectNothingLeft();
  }

  void pullLeavesTheImage() {
    auto run = bench({"pull", "--count", "2", "--concurrency", "2"})["runs"][0];
    EXPECT_EQ(run["iterations"]["ok"], 2);
    expectOps(run, {{"PullImage", 4}, {"RemoveImage", 2}});
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox:1.35"));
    v1::ImageStatusResponse resp;
    ASSERT_TRUE(d_->images()->ImageStatus(rpcContext().get(), req, &resp).ok());
    EXPECT_TRUE(resp.has_image());
  }

  void listCountsMonitors() {
    auto run = bench({"list", "--count", "3", "--containers", "4", "--per-pod", "2"})["runs"][0];
    EXPECT_EQ(run["iterations"]["ok"], 3);
    expectOps(run, {{"RunPodSandbox", 2}, {"CreateContainer", 4}, {"ListContainers", 3}, {"ListPodSandbox", 3}});
    // One conmon a container, the pods' infra containers included.
    EXPECT_GE(run["memory"]["peak"]["monitors"]["count"], 2) << run["memory"].dump();
    EXPECT_GT(run["memory"]["peak"]["monitors"]["pss_kb"], 0);
    EXPECT_EQ(run["memory"]["idle"]["monitors"]["count"], 0);
    EXPECT_EQ(run["memory"]["after_cleanup"]["monitors"]["count"], 0);
    expectNothingLeft();
  }

  void churnScenario() {
    auto run = bench({"churn", "--pods", "2", "--rate", "2", "--duration", "1.5"})["runs"][0];
    EXPECT_EQ(run["iterations"]["ok"], 3);
    expectOps(run, {{"RunPodSandbox", 5}, {"RemovePodSandbox", 3}, {"RemoveContainer", 3}});
    expectNothingLeft();
  }

  std::unique_ptr<Daemon> d_;
};

// Each scenario on one daemon, so that the test registry starts once.
TEST_F(BenchTest, EveryScenario) {
  podScenario();
  execScenario();
  portForwardScenario();
  pullLeavesTheImage();
  listCountsMonitors();
  churnScenario();
}

// Concurrent removals once deadlocked crixd (see image_store_test.cc).
TEST_F(BenchTest, PodAndContainerConcurrentlyComparedWithItself) {
  auto doc = bench({"pod+container", "--count", "8", "--concurrency", "4", "--compare", "unix://" + d_->socket()});
  ASSERT_EQ(doc["runs"].size(), 2u);
  for (const auto& run : doc["runs"]) {
    EXPECT_EQ(run["iterations"]["ok"], 8);
    expectOps(run, {{"RunPodSandbox", 8},
                    {"CreateContainer", 8},
                    {"StartContainer", 8},
                    {"StopContainer", 8},
                    {"RemoveContainer", 8},
                    {"StopPodSandbox", 8},
                    {"RemovePodSandbox", 8}});
  }
  EXPECT_NE(doc["runs"][0]["run_id"], doc["runs"][1]["run_id"]);
  EXPECT_TRUE(doc["ratios"]["operations"]["StartContainer"]["p50"].is_number()) << doc["ratios"].dump();
  expectNothingLeft();
}

int podCount(Daemon& d) {
  v1::ListPodSandboxResponse pods;
  return d.runtime()->ListPodSandbox(rpcContext().get(), {}, &pods).ok() ? pods.items_size() : -1;
}

TEST_F(BenchTest, InterruptCleansUp) {
  auto args = argv({"pod+container", "--count", "1000", "--concurrency", "2"});
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 1000 && podCount(*d_) < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGINT);
  int status = 0;
  for (int i = 0; i < 6000 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (::kill(pid, 0) == 0) {  // still running after a minute: fail, without hanging
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "crixctl bench did not stop on SIGINT";
  }
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  expectNothingLeft();
}

}  // namespace
}  // namespace crix::test
