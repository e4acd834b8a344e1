// The foundation of crixd, tested against the real binary: version, status
// from real checks, runtime config, unimplemented calls, socket ownership,
// clean shutdown and start-up refusals.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

const v1::RuntimeCondition* condition(const v1::StatusResponse& resp, const std::string& type) {
  for (const auto& c : resp.status().conditions())
    if (c.type() == type) return &c;
  return nullptr;
}

v1::StatusResponse status(const Daemon& d, bool verbose = false) {
  v1::StatusRequest req;
  req.set_verbose(verbose);
  v1::StatusResponse resp;
  auto s = d.runtime()->Status(rpcContext().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

TEST_F(DaemonTest, Version) {
  auto d = startDaemon();
  v1::VersionRequest req;
  v1::VersionResponse resp;
  ASSERT_TRUE(d->runtime()->Version(rpcContext().get(), req, &resp).ok());
  EXPECT_EQ(resp.version(), "0.1.0");
  EXPECT_EQ(resp.runtime_name(), "crix");
  EXPECT_EQ(resp.runtime_api_version(), "v1");
  EXPECT_FALSE(resp.runtime_version().empty());
}

TEST_F(DaemonTest, StatusIsReadyWithRealBinariesAndNetwork) {
  auto d = startDaemon();
  auto resp = status(*d);
  auto* rt = condition(resp, "RuntimeReady");
  auto* net = condition(resp, "NetworkReady");
  ASSERT_TRUE(rt && net);
  EXPECT_TRUE(rt->status()) << rt->message();
  EXPECT_TRUE(net->status()) << net->message();
}

TEST_F(DaemonTest, StatusConditionsFollowTheHost) {
  // The runtime is a copy that the test can take away and bring back.
  auto runc = sys::lookPath("runc");
  ASSERT_TRUE(runc) << runc.error().message();
  std::string bin = tmp_ / "bin";
  fs::create_directories(bin);
  fs::copy_file(*runc, bin + "/runc");
  auto d = startDaemon("[runtimes.runc]\npath = \"" + bin + "/runc\"\n");
  EXPECT_TRUE(condition(status(*d), "RuntimeReady")->status());

  fs::remove(bin + "/runc");
  auto down = status(*d);
  EXPECT_FALSE(condition(down, "RuntimeReady")->status());
  EXPECT_EQ(condition(down, "RuntimeReady")->reason(), "RuntimeBinaryNotReady");
  EXPECT_NE(condition(down, "RuntimeReady")->message().find(bin + "/runc"), std::string::npos)
      << condition(down, "RuntimeReady")->message();

  // A file that exists but does not run is not a runtime either.
  std::ofstream(bin + "/runc") << "#!/bin/sh\nexit 1\n";
  fs::permissions(bin + "/runc", fs::perms::owner_all);
  EXPECT_FALSE(condition(status(*d), "RuntimeReady")->status());

  fs::remove(bin + "/runc");
  fs::copy_file(*runc, bin + "/runc");
  EXPECT_TRUE(condition(status(*d), "RuntimeReady")->status());

  fs::rename(cniDir_ + "/10-crix-test.conflist", cniDir_ + "/10-crix-test.off");
  auto noNet = status(*d);
  EXPECT_FALSE(condition(noNet, "NetworkReady")->status());
  EXPECT_EQ(condition(noNet, "NetworkReady")->reason(), "NetworkPluginNotReady");
  EXPECT_TRUE(condition(noNet, "RuntimeReady")->status());
}

TEST_F(DaemonTest, MissingConmonMakesTheRuntimeNotReady) {
  auto d = startDaemon("[runtime]\nconmon = \"/nonexistent/conmon\"\n");
  auto resp = status(*d);
  auto* rt = condition(resp, "RuntimeReady");
  ASSERT_TRUE(rt);
  EXPECT_FALSE(rt->status());
  EXPECT_NE(rt->message().find("conmon"), std::string::npos) << rt->message();
}

TEST_F(DaemonTest, VerboseStatusCarriesTheEffectiveConfigAsJson) {
  auto d = startDaemon("log_level = \"debug\"\n");
  auto resp = status(*d, true);
  ASSERT_TRUE(resp.info().contains("config"));
  auto cfg = nlohmann::json::parse(resp.info().at("config"));
  EXPECT_EQ(cfg["listen"], d->socket());
  EXPECT_EQ(cfg["log_level"], "debug");
  EXPECT_EQ(cfg["network"]["cni_config_dir"], cniDir_);
  EXPECT_TRUE(cfg["runtimes"].contains("runc"));
  EXPECT_TRUE(status(*d, false).info().empty());
}

TEST_F(DaemonTest, RuntimeConfigReportsTheCgroupDriver) {
  {
    auto d = startDaemon();
    v1::RuntimeConfigResponse resp;
    ASSERT_TRUE(d->runtime()->RuntimeConfig(rpcContext().get(), {}, &resp).ok());
    EXPECT_EQ(resp.linux().cgroup_driver(), v1::CgroupDriver::CGROUPFS);
    EXPECT_EQ(d->stop(), 0);
  }
  auto d = startDaemon("", {"--cgroup-driver", "systemd"});  // a flag overrides the file
  v1::RuntimeConfigResponse resp;
  ASSERT_TRUE(d->runtime()->RuntimeConfig(rpcContext().get(), {}, &resp).ok());
  EXPECT_EQ(resp.linux().cgroup_driver(), v1::CgroupDriver::SYSTEMD);
}

// Without pods, the metrics RPCs still describe every family and answer
// with no pod (the kubelet asks them from its start).
TEST_F(DaemonTest, MetricsWithoutPodsAreDescribedAndEmpty) {
  auto d = startDaemon();
  v1::ListMetricDescriptorsResponse descriptors;
  auto s = d->runtime()->ListMetricDescriptors(rpcContext().get(), {}, &descriptors);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(descriptors.descriptors_size(), 30);

  auto ctx = rpcContext();
  auto metrics = d->runtime()->StreamPodSandboxMetrics(ctx.get(), {});
  v1::StreamPodSandboxMetricsResponse item;
  EXPECT_FALSE(metrics->Read(&item));
  s = metrics->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(DaemonTest, SocketIsGroupOnlyAndLogsAreStructured) {
  auto d = startDaemon();
  struct stat st {};
  ASSERT_EQ(::stat(d->socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  std::string log = d->log();
  EXPECT_NE(log.find("level=info msg=\"serving CRI\" socket=" + d->socket()), std::string::npos) << log;
  EXPECT_NE(log.find("time=20"), std::string::npos) << log;
}

TEST_F(DaemonTest, ASecondDaemonOnTheSameSocketIsRefused) {
  auto first = startDaemon();
  // Another root, the same socket.
  std::string other = tmp_ / "other";
  Daemon second(other, "listen = \"" + first->socket() + "\"\nroot = \"" + other + "/root\"\nstate_dir = \"" + other +
                           "/run\"\n");
  EXPECT_EQ(second.runToExit(), 1);
  EXPECT_NE(second.log().find("served by another live process"), std::string::npos) << second.log();
  // The first daemon is untouched and still serves.
  v1::VersionResponse resp;
  EXPECT_TRUE(first->runtime()->Version(rpcContext().get(), {}, &resp).ok());
}

TEST_F(DaemonTest, ASecondDaemonOnTheSameRootIsRefused) {
  auto first = startDaemon();
  std::string other = tmp_ / "other";
  Daemon second(other, "listen = \"" + other + "/run/crix.sock\"\nroot = \"" + first->root() + "\"\nstate_dir = \"" +
                           other + "/run\"\n");
  EXPECT_EQ(second.runToExit(), 1);
  EXPECT_NE(second.log().find("in use by another crixd"), std::string::npos) << second.log();
}

TEST_F(DaemonTest, AStaleSocketIsReplaced) {
  std::string sock = tmp_ / "d/run/crix.sock";
  fs::create_directories(tmp_ / "d/run");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // the file stays, nobody serves it
  auto d = startDaemon();
  EXPECT_TRUE(d->running());
}

TEST_F(DaemonTest, SigtermShutsDownCleanly) {
  auto d = startDaemon();
  v1::VersionResponse resp;
  ASSERT_TRUE(d->runtime()->Version(rpcContext().get(), {}, &resp).ok());
  EXPECT_EQ(d->stop(SIGTERM), 0) << d->log();
  EXPECT_FALSE(fs::exists(d->socket()));
  EXPECT_TRUE(fs::exists(d->root() + "/crix.db"));
  EXPECT_FALSE(fs::exists(d->root() + "/crix.db-wal"));  // checkpointed and closed
  EXPECT_NE(d->log().find("msg=stopped"), std::string::npos) << d->log();
  // And it starts again on the same state.
  EXPECT_TRUE(d->start());
  EXPECT_EQ(d->stop(SIGINT), 0);
}

TEST_F(DaemonTest, BadConfigurationStopsStartupWithFileAndLine) {
  Daemon d(tmp_ / "d", config("\nlog_level = \"chatty\"\n"));
  EXPECT_EQ(d.runToExit(), 2);
  EXPECT_NE(d.log().find(tmp_ / "d/crix.toml:6:13: log_level: \\\"chatty\\\" is not one of"), std::string::npos)
      << d.log();
  EXPECT_FALSE(fs::exists(tmp_ / "d/run/crix.sock"));

  Daemon dropIn(tmp_ / "d", config());
  std::ofstream(tmp_ / "d/crix.d/50-bad.toml") << "[runtime]\nno_such_key = 1\n";
  EXPECT_EQ(dropIn.runToExit(), 2);
  EXPECT_NE(dropIn.log().find("50-bad.toml:2:1: unknown key runtime.no_such_key"), std::string::npos) << dropIn.log();

  Daemon badFlag(tmp_ / "e", config(), {"--log-level", "chatty"});
  EXPECT_EQ(badFlag.runToExit(), 2);
  EXPECT_NE(badFlag.log().find("flag --log-level"), std::string::npos) << badFlag.log();
}

TEST_F(DaemonTest, ACorruptDatabaseStopsStartupAndIsKept) {
  fs::create_directories(tmp_ / "d/root");
  std::string garbage(4096, 'z');
  std::ofstream(tmp_ / "d/root/crix.db") << garbage;
  Daemon d(tmp_ / "d", config());
  EXPECT_EQ(d.runToExit(), 1);
  EXPECT_NE(d.log().find("corrupt"), std::string::npos) << d.log();
  auto kept = sys::readFile(tmp_ / "d/root/crix.db");
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, garbage);
}

TEST_F(DaemonTest, ConfigCommandPrintsTheEffectiveToml) {
  std::ofstream(tmp_ / "crix.toml") << config("log_level = \"warn\"\n");
  fs::create_directories(tmp_ / "crix.d");
  std::ofstream(tmp_ / "crix.d/10-x.toml") << "[image]\npause_image = \"localhost/pause:x\"\n";
  auto out = sys::runCommand({CRIXD_PATH, "config", "--config", tmp_ / "crix.toml", "--config-dir", tmp_ / "crix.d",
                              "--shutdown-timeout", "3s"});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->exitCode, 0) << out->err;
  EXPECT_NE(out->out.find("log_level = 'warn'"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("pause_image = 'localhost/pause:x'"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("shutdown_timeout = '3s'"), std::string::npos) << out->out;
  EXPECT_NE(out->out.find("[runtimes.runc]"), std::string::npos) << out->out;
}

}  // namespace
}  // namespace crix::test
