// The streaming server: exec, attach and port-forward for clients that the
// kubelet (or crictl) sends to the URL that the Exec, Attach and PortForward
// RPCs return.
//
//   GET|POST /exec/<token>          upgraded to SPDY/3.1 or WebSocket
//   GET|POST /attach/<token>
//   GET|POST /portforward/<token>
//
// A token is 256 random bits, good for one connection and for `tokenTtl`;
// an unknown, used or expired token gets 404. HTTP/1.1 parsing is
// Boost.Beast's; after the upgrade the connection's thread speaks the
// chosen protocol on the raw socket. The server owns the connections'
// threads: its destructor shuts their sockets down and joins them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>

#include "common/error.h"
#include "common/thread_set.h"
#include "streaming/backend.h"
#include "streaming/tokens.h"

namespace crix::streaming {

struct ServerOptions {
  std::string address = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::chrono::milliseconds tokenTtl{std::chrono::minutes(1)};
  std::chrono::milliseconds idleTimeout{std::chrono::hours(4)};
  int maxSessions = 256;  // connections served at once; more get 503
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(const ServerOptions& opts, Backend& backend);
  // Stops accepting, shuts down every connection and waits for their
  // threads: none uses the server (or the backend) once this returns.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A URL with a fresh token for the request.
  Result<std::string> url(const Request& req);
  std::string baseUrl() const { return baseUrl_; }

 private:
  Server(const ServerOptions& opts, Backend& backend) : opts_(opts), backend_(backend), tokens_(opts.tokenTtl) {}
  void acceptLoop();
  void serve(int fd);

  ServerOptions opts_;
  Backend& backend_;
  TokenCache tokens_;
  int listenFd_ = -1;
  std::string baseUrl_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<int> live_;     // connections being served, shut down on stop; an fd leaves before it is closed
  ThreadSet connections_;  // one thread per connection
};

}  // namespace crix::streaming
