#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/host_port.h"
#include "common/log.h"
#include "metrics/exposition.h"

namespace crix::metrics {
namespace {

using Clock = std::chrono::steady_clock;

std::string reply(int status, std::string_view reason, std::string_view contentType, const std::string& body,
                  bool withBody, std::string_view extraHeaders = "") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(contentType) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extraHeaders;
  out += "Connection: close\r\n\r\n";
  if (withBody) out += body;
  return out;
}

std::string plain(int status, std::string_view reason, std::string_view extraHeaders = "") {
  return reply(status, reason, "text/plain; charset=utf-8", std::string(reason) + "\n", true, extraHeaders);
}

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Writes all of `data` before the deadline; false if the peer is gone or slow.
bool sendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int left = remainingMs(deadline);
      if (left == 0 || ::poll(&p, 1, left) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::string formatAddress(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
  ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
}

}  // namespace

std::string respond(std::string_view head, const MetricsServer::Render& render) {
  size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  if (line.ends_with('\r')) line.remove_suffix(1);
  // METHOD SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return plain(400, "Bad Request");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!version.starts_with("HTTP/1.")) return plain(400, "Bad Request");
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return plain(404, "Not Found");
  if (method != "GET" && method != "HEAD") return plain(405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
  return reply(200, "OK", kTextContentType, render(), method == "GET");
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address, Render render,
                                                            ServerOptions opts) {
  auto hp = TRY(parseHostPort(address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(hp.port);
  int rc = ::getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return fail(Code::InvalidArgument, "metrics address " + address + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);

  // The first address that binds: a name may resolve to IPv6 and IPv4.
  sys::UniqueFd fd;
  int lastErr = 0;
  for (addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    sys::UniqueFd s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!s.valid()) {
      lastErr = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(s.get(), 64) != 0) {
      lastErr = errno;
      continue;
    }
    fd = std::move(s);
    break;
  }
  if (!fd.valid()) return failErrno("listen for metrics on " + address, lastErr ? lastErr : EADDRNOTAVAIL);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return failErrno("metrics socket name", errno);
  sys::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return failErrno("eventfd", errno);
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(std::move(fd), std::move(wake), formatAddress(bound), std::move(render), opts));
  server->acceptor_ = std::thread([s = server.get()] { s->acceptLoop(); });
  return server;
}

MetricsServer::MetricsServer(sys::UniqueFd listener, sys::UniqueFd wake, std::string address, Render render,
                             ServerOptions opts)
    : listener_(std::move(listener)),
      wake_(std::move(wake)),
      address_(std::move(address)),
      render_(std::move(render)),
      opts_(opts) {}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof one) < 0) log::warn("cannot wake the metrics server", {{"errno", errno}});
  if (acceptor_.joinable()) acceptor_.join();
  {
    // A handler waiting for a request or writing one sees its peer gone.
    std::lock_guard lock(mu_);
    for (int fd : live_) ::shutdown(fd, SHUT_RDWR);
  }
  handlers_.joinAll();
}

void MetricsServer::acceptLoop() {
  for (;;) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      log::error("metrics server poll failed", {{"error", std::strerror(errno)}});
      return;
    }
    if (p[1].revents) return;
    sys::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.valid()) {
      // The peer may have gone already; out of fds, back off a little.
      if (errno == EMFILE || errno == ENFILE) ::poll(nullptr, 0, 100);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (static_cast<int>(live_.size()) >= opts_.maxConnections) continue;  // closes conn: shed, do not queue
      live_.insert(conn.get());
    }
    handlers_.start([this, c = std::move(conn)]() mutable {
      handle(c.get());
      {
        std::lock_guard lock(mu_);
        live_.erase(c.get());
      }
      c.reset();
    });
  }
}

void MetricsServer::handle(int conn) {
  auto deadline = Clock::now() + opts_.timeout;
  std::string head;
  char buf[2048];
  for (;;) {
    size_t end = std::min(head.find("\r\n\r\n"), head.find("\n\n"));
    // The cap holds however the bytes arrived: in one piece or many.
    if (std::min(end, head.size()) > opts_.maxRequestBytes) {
      (void)sendAll(conn, plain(431, "Request Header Fields Too Large"), deadline);
      return;
    }
    if (end != std::string::npos) break;
    pollfd p{conn, POLLIN, 0};
    int left = remainingMs(deadline);
    int ready = left ? ::poll(&p, 1, left) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      (void)sendAll(conn, plain(408, "Request Timeout"), Clock::now() + std::chrono::milliseconds(100));
      return;
    }
    ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;  // closed before a whole request
    head.append(buf, static_cast<size_t>(n));
  }
  (void)sendAll(conn, respond(head, render_), deadline);
  ::shutdown(conn, SHUT_WR);
}

}  // namespace crix::metrics
