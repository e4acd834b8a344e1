// Measures crixd's time from exec to a socket that accepts connections, and
// its idle memory after serving one Status call.
//
//   crix_startup_bench CRIXD [ROUNDS]
//
// The socket is polled with connect(2) in a tight loop so that no client
// start-up time lands in the figure.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "crix/proto/api.grpc.pb.h"

namespace {

bool accepts(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string smapsRollup(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line, out;
  while (std::getline(in, line)) {
    for (const char* key : {"Rss:", "Pss:", "Pss_Anon:", "Pss_File:"})
      if (line.rfind(key, 0) == 0) out += line.substr(0, line.find(" kB")) + " kB  ";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CRIXD [ROUNDS]\n", argv[0]);
    return 2;
  }
  std::string crixd = argv[1];
  int rounds = argc > 2 ? std::atoi(argv[2]) : 20;
  char tmpl[] = "/tmp/crix-startup-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir + "/cni");
  std::filesystem::create_directories(dir + "/crix.d");
  std::ofstream(dir + "/cni/10-b.conflist") << R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"bridge"}]})";
  std::ofstream(dir + "/crix.toml") << "root = \"" << dir << "/root\"\nstate_dir = \"" << dir << "/run\"\nlisten = \""
                                    << dir << "/run/crix.sock\"\n[network]\ncni_config_dir = \"" << dir << "/cni\"\n";
  std::string sock = dir + "/run/crix.sock";
  std::string config = dir + "/crix.toml", dropIns = dir + "/crix.d", log = dir + "/log";

  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      freopen(log.c_str(), "a", stderr);
      execl(crixd.c_str(), crixd.c_str(), "--config", config.c_str(), "--config-dir", dropIns.c_str(), nullptr);
      _exit(127);
    }
    while (!accepts(sock)) {
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (i == rounds - 1) {
      auto stub = runtime::v1::RuntimeService::NewStub(
          grpc::CreateChannel("unix://" + sock, grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      runtime::v1::StatusRequest req;
      runtime::v1::StatusResponse resp;
      stub->Status(&ctx, req, &resp);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::printf("idle crixd after one Status call: %s\n", smapsRollup(pid).c_str());
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("exec to served socket over %d rounds: min %.1f ms  median %.1f ms  max %.1f ms\n", rounds, ms.front(),
              ms[ms.size() / 2], ms.back());
  std::filesystem::remove_all(dir);
  return 0;
}
