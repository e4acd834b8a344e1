// CNI CHECK and STATUS against the real crixd: the bridge plugins check the
// pods that outlive a restart, and a CNI 1.1 plugin's STATUS answer becomes
// the NetworkReady condition.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/pod_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Polls `done` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class NetworkCheckTest : public PodFixture {
 protected:
  v1::PodSandboxState podState() {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod_);
    v1::PodSandboxStatusResponse resp;
    auto s = d_->runtime()->PodSandboxStatus(rpcContext().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.status().state();
  }
  // Waits until the crixds of this test have finished `n` start-up network checks.
  void waitForChecks(int n) {
    ASSERT_TRUE(eventually([&] { return occurrences(d_->log(), "msg=\"checked pod networks\"") == n; })) << d_->log();
  }
  // The host end of the pod's veth, from the result that CNI ADD cached.
  std::string hostVeth() {
    auto text = sys::readFile(d_->root() + "/cni/" + pod_ + ".json");
    if (!text) return "";
    auto cached = nlohmann::json::parse(*text);
    for (const auto& i : cached["result"]["interfaces"])
      if (i.value("sandbox", "").empty() && i.value("name", "") != "crixtest0") return i.value("name", "");
    return "";
  }
};

TEST_F(NetworkCheckTest, APodWhoseNetworkBrokeWhileCrixdWasDownBecomesNotReady) {
  std::string container;
  ASSERT_TRUE(create(config("sleeper", {"sleep", "300"}), &container).ok());
  ASSERT_TRUE(start(container).ok());

  waitForChecks(1);  // the fixture's crixd, before the pod

  // Nothing broke: CHECK passes and the pod stays.
  ASSERT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  waitForChecks(2);
  EXPECT_NE(d_->log().find("msg=\"checked pod networks\" pods=1 failed=0"), std::string::npos) << d_->log();
  EXPECT_EQ(podState(), v1::SANDBOX_READY);
  EXPECT_EQ(status(container).state(), v1::CONTAINER_RUNNING);

  // The host end of the veth goes (and the pod's end with it) while crixd is down.
  std::string veth = hostVeth();
  ASSERT_TRUE(veth.starts_with("veth")) << "veth \"" << veth << "\"";
  ASSERT_TRUE(fs::exists("/sys/class/net/crixtest0/brif/" + veth));
  ASSERT_EQ(d_->stop(), 0);
  auto deleted = sys::runCommand({"/sbin/ip", "link", "del", veth});
  ASSERT_TRUE(deleted && deleted->exitCode == 0) << (deleted ? deleted->err : deleted.error().message());
  ASSERT_TRUE(d_->start());
  EXPECT_TRUE(eventually([&] { return podState() == v1::SANDBOX_NOTREADY; })) << d_->log();
  auto log = d_->log();
  EXPECT_EQ(occurrences(log, "msg=\"pod network check failed, stopping the pod\""), 1) << log;
  EXPECT_NE(log.find("id=" + pod_ + " error=\"network crix-test: CNI CHECK bridge failed"), std::string::npos) << log;
  EXPECT_EQ(waitExit(container).state(), v1::CONTAINER_EXITED);

  // Stopped for good: the next start-up checks nothing and keeps it stopped.
  waitForChecks(3);
  ASSERT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  waitForChecks(4);
  EXPECT_NE(d_->log().rfind("msg=\"checked pod networks\" pods=0 failed=0"), std::string::npos);
  EXPECT_EQ(podState(), v1::SANDBOX_NOTREADY);
}

// A CNI 1.1 network whose one plugin, a script, fails STATUS while a marker
// file exists.
class NetworkStatusTest : public DaemonTest {
 protected:
  NetworkStatusTest() {
    fs::create_directories(tmp_ / "cni-bin");
    std::ofstream(tmp_ / "cni-bin/crix-status-test")
        << "#!/bin/sh\n"
           "[ \"$CNI_COMMAND\" = STATUS ] || exit 0\n"
           "if [ -e "
        << marker() << " ]; then\n"
        << "  echo '{\"cniVersion\":\"1.1.0\",\"code\":50,\"msg\":\"plugin not available\",\"details\":\"marker "
           "present\"}'\n"
           "  exit 1\n"
           "fi\n";
    fs::permissions(tmp_ / "cni-bin/crix-status-test", fs::perms::owner_all);
    // Sorts before the fixture's network: the default one.
    std::ofstream(cniDir_ + "/05-status.conflist")
        << R"({"cniVersion": "1.1.0", "name": "status-test", "plugins": [{"type": "crix-status-test"}]})";
    fs::create_directories(tmp_ / "d/crix.d");
    std::ofstream(tmp_ / "d/crix.d/50-cni.toml") << "[network]\ncni_plugin_dirs = [\"" << tmp_ / "cni-bin"
                                                 << "\", \"/usr/lib/cni\"]\n";
  }
  std::string marker() const { return tmp_ / "not-ready"; }
  v1::RuntimeCondition network(Daemon& d) {
    v1::StatusResponse resp;
    auto s = d.runtime()->Status(rpcContext().get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& c : resp.status().conditions())
      if (c.type() == "NetworkReady") return c;
    ADD_FAILURE() << "no NetworkReady condition";
    return {};
  }
};

TEST_F(NetworkStatusTest, NetworkReadyFollowsThePluginsStatusAnswer) {
  std::ofstream(marker()) << "";
  auto d = startDaemon();
  auto down = network(*d);
  EXPECT_FALSE(down.status());
  EXPECT_EQ(down.reason(), "NetworkPluginNotReady");
  EXPECT_EQ(down.message(),
            "network status-test: CNI STATUS crix-status-test failed (exit 1): plugin not available: marker present");

  fs::remove(marker());
  EXPECT_TRUE(eventually([&] { return network(*d).status(); }, 10s)) << network(*d).message();
  EXPECT_EQ(network(*d).reason(), "");

  std::ofstream(marker()) << "";
  EXPECT_TRUE(eventually([&] { return !network(*d).status(); }, 10s));
}

TEST_F(NetworkStatusTest, AMissingPluginMakesTheNetworkNotReady) {
  fs::remove(tmp_ / "cni-bin/crix-status-test");
  auto d = startDaemon();
  auto down = network(*d);
  EXPECT_FALSE(down.status());
  EXPECT_EQ(down.reason(), "NetworkPluginNotReady");
  EXPECT_NE(down.message().find("CNI plugin \"crix-status-test\" not found"), std::string::npos) << down.message();
}

}  // namespace
}  // namespace crix::test
