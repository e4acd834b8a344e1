#include "integration/registry_fixture.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TestRegistry& TestRegistry::get() {
  static TestRegistry instance;
  return instance;
}

TestRegistry::TestRegistry() {
  char tmpl[] = "/tmp/crix-registry-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  std::filesystem::create_directories(dir_ + "/root");
  host_ = "127.0.0.1:" + std::to_string(freePort());
  auto tmplText = sys::readFile(std::string(CRIX_SOURCE_DIR) + "/tests/images/registry-config.yml.in");
  if (!tmplText) {
    error_ = tmplText.error().message();
    return;
  }
  std::string config = std::regex_replace(*tmplText, std::regex("@ROOT@"), dir_ + "/root");
  config = std::regex_replace(config, std::regex("@ADDR@"), host_);
  std::ofstream(dir_ + "/config.yml") << config;

  std::string log = dir_ + "/registry.log";
  std::string configPath = dir_ + "/config.yml";
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    freopen(log.c_str(), "a", stderr);
    freopen("/dev/null", "w", stdout);
    execlp("docker-registry", "docker-registry", "serve", configPath.c_str(), nullptr);
    _exit(127);
  }
  // Wait for the port, then push.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline) {
    auto r =
        sys::runCommand({"/usr/bin/curl", "-sf", "http://" + host_ + "/v2/"}, {.timeout = std::chrono::seconds(2)});
    up = r && r->exitCode == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) {
    error_ = "docker-registry did not come up on " + host_;
    return;
  }
  auto pushed = sys::runCommand(
      {"/bin/bash", std::string(CRIX_SOURCE_DIR) + "/tests/images/push-test-images.sh", host_, dir_ + "/root"},
      {.timeout = std::chrono::minutes(5)});
  if (!pushed || pushed->exitCode != 0) {
    error_ = "push-test-images.sh failed: " + (pushed ? pushed->err : pushed.error().message());
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

TestRegistry::~TestRegistry() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestRegistry::configToml() const {
  return "\n[registries.\"" + host_ + "\"]\ninsecure = true\n";
}

}  // namespace crix::test
