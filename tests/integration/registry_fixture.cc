#include "integration/registry_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
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

namespace {

// Starts docker-registry on `root` in `dir`; its pid, or -1 with `error`.
pid_t serve(const std::string& dir, const std::string& root, const std::string& host, std::string& error) {
  auto tmplText = sys::readFile(std::string(CRIX_SOURCE_DIR) + "/tests/images/registry-config.yml.in");
  if (!tmplText) {
    error = tmplText.error().message();
    return -1;
  }
  std::string config = std::regex_replace(*tmplText, std::regex("@ROOT@"), root);
  config = std::regex_replace(config, std::regex("@ADDR@"), host);
  std::string configPath = dir + "/config.yml";
  std::ofstream(configPath) << config;

  std::string log = dir + "/registry.log";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    freopen(log.c_str(), "a", stderr);
    freopen("/dev/null", "w", stdout);
    execlp("docker-registry", "docker-registry", "serve", configPath.c_str(), nullptr);
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = sys::runCommand({"/usr/bin/curl", "-sf", "http://" + host + "/v2/"}, {.timeout = std::chrono::seconds(2)});
    if (r && r->exitCode == 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error = "docker-registry did not come up on " + host;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

// Where the pushed images are kept between test processes: named after what
// makes them (the script, the registry's configuration and the busybox
// binaries the script copies), so that a change to any builds them afresh.
std::string cachedStorage() {
  std::string key;
  for (const char* f : {"/tests/images/push-test-images.sh", "/tests/images/registry-config.yml.in"}) {
    key += sys::readFile(std::string(CRIX_SOURCE_DIR) + f).value_or("");
  }
  for (const char* f : {"/bin/busybox", "/usr/bin/busybox"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(f, ec);
    if (!ec) key += std::string(f) + std::to_string(size);
  }
  std::ostringstream name;
  name << "/var/tmp/crix-test-registry-" << std::hex << std::hash<std::string>{}(key);
  return name.str();
}

// Pushes the test images into a storage directory of its own, once per
// machine and script version: every test process runs in a binary of its
// own, and pushing takes seconds where serving what was pushed takes a few
// milliseconds. Processes that start together wait on one lock.
std::string ensureStorage(const std::string& dir, std::string& error) {
  std::string storage = cachedStorage();
  if (std::filesystem::exists(storage + "/complete")) return storage;
  int lock = ::open((storage + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    error = "cannot lock " + storage + ".lock";
    if (lock >= 0) ::close(lock);
    return "";
  }
  if (!std::filesystem::exists(storage + "/complete")) {
    std::string building = storage + ".building";
    std::error_code ec;
    std::filesystem::remove_all(building, ec);
    std::filesystem::remove_all(storage, ec);
    std::filesystem::create_directories(building + "/root");
    std::string host = "127.0.0.1:" + std::to_string(freePort());
    pid_t pid = serve(dir, building + "/root", host, error);
    if (pid > 0) {
      auto pushed = sys::runCommand(
          {"/bin/bash", std::string(CRIX_SOURCE_DIR) + "/tests/images/push-test-images.sh", host, building + "/root"},
          {.timeout = std::chrono::minutes(5)});
      stop(pid);
      if (!pushed || pushed->exitCode != 0) {
        error = "push-test-images.sh failed: " + (pushed ? pushed->err : pushed.error().message());
      } else {
        std::ofstream(building + "/complete") << "pushed\n";
        std::filesystem::rename(building, storage, ec);
        if (ec) error = "cannot move " + building + " to " + storage + ": " + ec.message();
      }
    }
  }
  ::close(lock);
  return error.empty() ? storage : "";
}

}  // namespace

TestRegistry::TestRegistry() {
  char tmpl[] = "/tmp/crix-registry-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  std::string storage = ensureStorage(dir_, error_);
  if (storage.empty()) return;
  host_ = "127.0.0.1:" + std::to_string(freePort());
  pid_ = serve(dir_, storage + "/root", host_, error_);
}

TestRegistry::~TestRegistry() {
  if (pid_ > 0) stop(pid_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestRegistry::configToml() const {
  return "\n[registries.\"" + host_ + "\"]\ninsecure = true\n";
}

}  // namespace crix::test
