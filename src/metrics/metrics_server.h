// MetricsServer: GET /metrics over plain HTTP/1.1, for Prometheus.
//
// Deliberately small: one accept thread; each connection gets a short-lived
// handler thread that reads one request head (capped in size and time),
// writes one response and closes (Connection: close, no keep-alive, no
// request bodies). Only /metrics exists (404 elsewhere, 405 for methods
// other than GET and HEAD). A cap on concurrent connections sheds load
// instead of queueing it: a scraper that opens too many gets closed at once.
//
// The streaming server (exec, attach, port-forward) is a separate, fuller
// HTTP server; this one never grows beyond scrapes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.h"
#include "common/thread_set.h"
#include "sys/unique_fd.h"

namespace crix::metrics {

struct ServerOptions {
  size_t maxRequestBytes = 8192;            // the request head; more gets 431
  std::chrono::milliseconds timeout{5000};  // to read the request and to write the response
  int maxConnections = 8;                   // handled at once; more are closed unanswered
};

class MetricsServer {
 public:
  // The body of /metrics, rendered for each scrape.
  using Render = std::function<std::string()>;

  // Binds `address` ("host:port", see common/host_port.h) and starts serving.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address, Render render,
                                                      ServerOptions opts = {});
  // Stops accepting, shuts down the connections in progress and joins
  // their handlers: none uses the server once this returns.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "127.0.0.1:9090", with the port actually bound.
  const std::string& address() const { return address_; }

 private:
  MetricsServer(sys::UniqueFd listener, sys::UniqueFd wake, std::string address, Render render, ServerOptions opts);
  void acceptLoop();
  void handle(int conn);

  sys::UniqueFd listener_, wake_;  // wake_: an eventfd that ends the accept loop
  std::string address_;
  Render render_;
  ServerOptions opts_;
  std::mutex mu_;
  std::set<int> live_;  // connections being handled; an fd leaves before it is closed
  std::thread acceptor_;
  ThreadSet handlers_;  // one per connection
};

// The complete response to a request head (request line and headers, up to
// the blank line), with Connection: close (exposed for tests).
std::string respond(std::string_view head, const MetricsServer::Render& render);

}  // namespace crix::metrics
