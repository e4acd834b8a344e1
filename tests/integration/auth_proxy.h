// AuthProxy: a registry front that demands bearer tokens, with its own
// token service, the way Docker Hub and most registries do. Requests with
// the right token are relayed to the real test registry.
//
//   GET /token?service=..&scope=..   Basic crix:secret → {"token": "..."}
//   GET /v2/...                      Bearer <token> → relayed; else 401 + challenge
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace crix::test {

class AuthProxy {
 public:
  explicit AuthProxy(std::string upstream);  // "127.0.0.1:PORT"
  ~AuthProxy();

  const std::string& host() const { return host_; }
  int tokenRequests() const { return tokens_; }
  static constexpr const char* kUser = "crix";
  static constexpr const char* kPassword = "secret";
  static constexpr const char* kToken = "crix-test-token";

 private:
  void serve();
  void handle(int fd);

  std::string upstream_, host_;
  int listenFd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> tokens_{0};
  std::thread thread_;
};

}  // namespace crix::test
