// DaemonFixture starts the real crixd on temp directories and a temp
// socket, talks gRPC to it, and always tears it down.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crix/proto/api.grpc.pb.h"
#include "temp_dir.h"

namespace crix::test {

// One crixd process.
class Daemon {
 public:
  // `dir` holds root/, run/ and crixd.log; `configToml` is written to
  // dir/crix.toml and passed with --config (with an empty drop-in dir, so
  // that the host's /etc/crix is never read).
  // `wrapper` runs crixd through another command (nsenter into a booted
  // systemd, say), which must run crixd as its only child and exit with it;
  // signals then go to that child.
  Daemon(std::string dir, std::string configToml, std::vector<std::string> extraArgs = {},
         std::vector<std::string> wrapper = {});
  ~Daemon();

  // Spawns crixd; waits until it serves Version or exits.
  ::testing::AssertionResult start();
  // Spawns crixd and waits for it to exit on its own; returns its status.
  int runToExit(int timeoutMs = 10000);
  // SIGTERM, then waits; returns the exit status (or -signal).
  int stop(int sig = SIGTERM, int timeoutMs = 15000);
  bool running() const { return pid_ > 0; }

  std::string socket() const { return dir_ + "/run/crix.sock"; }
  std::string root() const { return dir_ + "/root"; }
  std::string log() const;
  pid_t pid() const { return pid_; }
  // crixd's own pid: pid() unless wrapped, then the wrapper's child (0 if none).
  pid_t crixdPid() const;

  std::shared_ptr<grpc::Channel> channel() const;
  std::unique_ptr<::runtime::v1::RuntimeService::Stub> runtime() const;
  std::unique_ptr<::runtime::v1::ImageService::Stub> images() const;

 private:
  void spawn();
  int waitExit(int timeoutMs);

  std::string dir_;
  std::vector<std::string> args_;
  bool wrapped_ = false;
  pid_t pid_ = -1;
};

// A gtest fixture with a temp dir, a CNI config dir holding one network,
// and a daemon configuration pointing at both.
class DaemonTest : public ::testing::Test {
 protected:
  DaemonTest();

  // The base configuration plus `extra` TOML appended.
  std::string config(const std::string& extra = "") const;
  std::unique_ptr<Daemon> startDaemon(const std::string& extraToml = "", std::vector<std::string> args = {});

  TempDir tmp_;
  std::string cniDir_;
};

// The first child of process `pid` (0 if it has none).
pid_t firstChild(pid_t pid);

// A client context with a short deadline.
std::unique_ptr<grpc::ClientContext> rpcContext(int ms = 5000);

// Verbose ContainerStatus's info["info"] (null when the call fails).
nlohmann::json verboseContainerInfo(const Daemon& d, const std::string& id);

}  // namespace crix::test
