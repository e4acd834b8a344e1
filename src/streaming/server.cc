#include "streaming/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/host_port.h"
#include "common/log.h"
#include "streaming/spdy_sessions.h"
#include "streaming/websocket.h"
#include "streaming/ws_sessions.h"

namespace crix::streaming {
namespace {

namespace http = boost::beast::http;
using Tcp = boost::asio::ip::tcp;

constexpr std::chrono::seconds kRequestTimeout{10};

struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

Result<Address> parseAddress(const std::string& text) {
  auto hp = TRY(parseHostPort(text));
  std::string host = hp.host.empty() ? "0.0.0.0" : hp.host == "localhost" ? "127.0.0.1" : hp.host;
  Address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    a.len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    a.len = sizeof *v6;
  } else {
    return fail(Code::InvalidArgument, "streaming address " + text + ": host must be an IP address");
  }
  return a;
}

std::string urlOf(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    return "http://" + std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
  return "http://[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

void setTimeout(int fd, int option, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

// Every value of a header, split at commas and trimmed.
std::vector<std::string> headerList(const http::request<http::string_body>& req, std::string_view name) {
  std::vector<std::string> out;
  for (auto [it, end] = req.equal_range(boost::beast::string_view(name.data(), name.size())); it != end; ++it) {
    std::string v(it->value());
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string item = v.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) out.push_back(item);
      start = comma + 1;
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// The first protocol the client offers that the server speaks.
std::optional<std::string> negotiate(const std::vector<std::string>& offered, const std::vector<std::string>& ours) {
  for (const auto& o : offered)
    for (const auto& s : ours)
      if (o == s) return s;
  return std::nullopt;
}

const std::vector<std::string> kSpdyChannelProtocols = {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                                                        "channel.k8s.io"};
const std::vector<std::string> kSpdyPortForwardProtocols = {"portforward.k8s.io"};

class Connection {
 public:
  Connection(int fd, Backend& backend, TokenCache& tokens, const ServerOptions& opts)
      : socket_(ioc_), backend_(backend), tokens_(tokens), opts_(opts) {
    socket_.assign(Tcp::v6(), fd);  // the family only matters to asio's own connect/bind
  }

  void serve() {
    int fd = socket_.native_handle();
    setTimeout(fd, SO_RCVTIMEO, kRequestTimeout);
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 << 10);
    parser.body_limit(4 << 10);
    boost::beast::error_code ec;
    http::read(socket_, buffer, parser, ec);
    if (ec) {
      if (ec != http::error::end_of_stream) respond(http::status::bad_request, "bad request: " + ec.message());
      return;
    }
    const auto& req = parser.get();
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    auto slash = path.find('/', 1);
    std::string verb = slash == std::string::npos ? "" : path.substr(1, slash - 1);
    std::string token = slash == std::string::npos ? "" : path.substr(slash + 1);
    if (req.method() != http::verb::get && req.method() != http::verb::post)
      return respond(http::status::method_not_allowed, "method not allowed");
    auto request = token.empty() ? std::nullopt : tokens_.take(token);
    if (!request || !matches(*request, verb)) return respond(http::status::not_found, "unknown or expired token");

    std::string leftover(static_cast<const char*>(buffer.data().data()), buffer.size());
    std::string upgrade(req[http::field::upgrade]);
    if (iequals(upgrade, "SPDY/3.1")) return serveSpdy(req, *request, std::move(leftover));
    if (iequals(upgrade, "websocket")) return serveWebSocket(req, target, *request, std::move(leftover));
    respond(http::status::bad_request, "streaming needs an upgrade to SPDY/3.1 or websocket");
  }

 private:
  static bool matches(const Request& r, const std::string& verb) {
    return (verb == "exec" && std::holds_alternative<ExecRequest>(r)) ||
           (verb == "attach" && std::holds_alternative<AttachRequest>(r)) ||
           (verb == "portforward" && std::holds_alternative<PortForwardRequest>(r));
  }

  void respond(http::status status, const std::string& body) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::connection, "close");
    res.body() = body + "\n";
    res.prepare_payload();
    boost::beast::error_code ec;
    http::write(socket_, res, ec);
  }

  bool switchProtocols(const std::vector<std::pair<std::string, std::string>>& headers) {
    http::response<http::empty_body> res{http::status::switching_protocols, 11};
    res.set(http::field::connection, "Upgrade");
    for (const auto& [k, v] : headers) res.set(k, v);
    boost::beast::error_code ec;
    http::write(socket_, res, ec);
    return !ec;
  }

  // The raw socket for the upgraded protocol, with the idle timeout on writes.
  sys::UniqueFd takeSocket() {
    int fd = ::dup(socket_.native_handle());
    setTimeout(fd, SO_RCVTIMEO, std::chrono::milliseconds(0));
    setTimeout(fd, SO_SNDTIMEO, opts_.idleTimeout);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return sys::UniqueFd(fd);
  }

  void serveSpdy(const http::request<http::string_body>& req, const Request& request, std::string leftover) {
    auto offered = headerList(req, "X-Stream-Protocol-Version");
    bool portForward = std::holds_alternative<PortForwardRequest>(request);
    const auto& ours = portForward ? kSpdyPortForwardProtocols : kSpdyChannelProtocols;
    std::string protocol;
    if (!offered.empty()) {
      auto chosen = negotiate(offered, ours);
      if (!chosen) return respond(http::status::forbidden, "unable to negotiate a stream protocol");
      protocol = *chosen;
    }
    std::vector<std::pair<std::string, std::string>> headers = {{"Upgrade", "SPDY/3.1"}};
    if (!protocol.empty()) headers.emplace_back("X-Stream-Protocol-Version", protocol);
    if (!switchProtocols(headers)) return;
    SpdyOptions opts{.idleTimeout = opts_.idleTimeout};

    if (portForward) {
      serveSpdyPortForward(takeSocket(), std::move(leftover), opts, backend_,
                           std::get<PortForwardRequest>(request).sandboxId);
      return;
    }
    bool v4 = protocol == "v4.channel.k8s.io";
    bool resize = protocol == "v4.channel.k8s.io" || protocol == "v3.channel.k8s.io";
    if (const auto* exec = std::get_if<ExecRequest>(&request)) {
      ChannelSet expect{exec->stdin, exec->stdout, exec->stderr && !exec->tty, exec->tty && resize};
      auto outcome = serveSpdySession(takeSocket(), std::move(leftover), opts, expect, v4, execStarter(*exec));
      log::debug("exec ended",
                 {{"container", exec->containerId}, {"exit_code", outcome.exitCode}, {"error", outcome.error}});
    } else {
      const auto& attach = std::get<AttachRequest>(request);
      ChannelSet expect{attach.stdin, attach.stdout, attach.stderr && !attach.tty, attach.tty && resize};
      serveSpdySession(takeSocket(), std::move(leftover), opts, expect, v4, attachStarter(attach));
    }
  }

  void serveWebSocket(const http::request<http::string_body>& req, const std::string& target, const Request& request,
                      std::string leftover) {
    std::string key(req["Sec-WebSocket-Key"]);
    if (key.empty() || req["Sec-WebSocket-Version"] != "13")
      return respond(http::status::bad_request, "websocket upgrade needs Sec-WebSocket-Key and version 13");
    auto offered = headerList(req, "Sec-WebSocket-Protocol");
    bool portForward = std::holds_alternative<PortForwardRequest>(request);
    auto protocol = negotiate(offered, portForward ? kWsPortForwardProtocols : kWsChannelProtocols);
    if (!protocol && !offered.empty())
      return respond(http::status::forbidden, "unable to negotiate a websocket protocol");
    std::vector<std::pair<std::string, std::string>> headers = {{"Upgrade", "websocket"},
                                                                {"Sec-WebSocket-Accept", ws::acceptKey(key)}};
    if (protocol) headers.emplace_back("Sec-WebSocket-Protocol", *protocol);
    if (!switchProtocols(headers)) return;
    WsOptions opts{.idleTimeout = opts_.idleTimeout, .protocol = protocol.value_or("")};
    if (portForward) {
      serveWsPortForward(takeSocket(), std::move(leftover), opts, backend_, std::get<PortForwardRequest>(request),
                         target);
    } else if (const auto* exec = std::get_if<ExecRequest>(&request)) {
      serveWsSession(takeSocket(), std::move(leftover), opts, exec->tty, execStarter(*exec));
    } else {
      const auto& attach = std::get<AttachRequest>(request);
      serveWsSession(takeSocket(), std::move(leftover), opts, attach.tty, attachStarter(attach));
    }
  }

  SessionStarter execStarter(const ExecRequest& req) {
    return [this, req](std::optional<TerminalSize> size) {
      ExecRequest r = req;
      if (size) r.width = size->width, r.height = size->height;
      return backend_.exec(r);
    };
  }

  SessionStarter attachStarter(const AttachRequest& req) {
    return [this, req](std::optional<TerminalSize> size) -> Result<std::unique_ptr<Session>> {
      auto session = TRY(backend_.attach(req));
      if (size) session->resize(size->width, size->height);
      return session;
    };
  }

  boost::asio::io_context ioc_;
  Tcp::socket socket_;
  Backend& backend_;
  TokenCache& tokens_;
  const ServerOptions& opts_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& opts, Backend& backend) {
  auto addr = TRY(parseAddress(opts.address));
  std::unique_ptr<Server> s(new Server(opts, backend));
  int fd = ::socket(addr.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failErrno("streaming socket", errno);
  s->listenFd_ = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr.addr), addr.len) != 0)
    return failErrno("bind streaming server to " + opts.address, errno);
  if (::listen(fd, 128) != 0) return failErrno("listen on " + opts.address, errno);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s->baseUrl_ = urlOf(bound);
  s->acceptor_ = std::thread([raw = s.get()] { raw->acceptLoop(); });
  return s;
}

Server::~Server() {
  stopping_ = true;
  if (listenFd_ >= 0) ::shutdown(listenFd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  {
    // A session ends once its socket is shut down: its reader sees the end
    // and aborts the process or the attach.
    std::lock_guard lock(mu_);
    for (int fd : live_) ::shutdown(fd, SHUT_RDWR);
  }
  connections_.joinAll();
  if (listenFd_ >= 0) ::close(listenFd_);
}

Result<std::string> Server::url(const Request& req) {
  std::string verb = std::holds_alternative<ExecRequest>(req)     ? "exec"
                     : std::holds_alternative<AttachRequest>(req) ? "attach"
                                                                  : "portforward";
  return baseUrl_ + "/" + verb + "/" + TRY(tokens_.put(req));
}

void Server::acceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      log::error("streaming server stopped accepting", {{"error", std::strerror(errno)}});
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (static_cast<int>(live_.size()) >= opts_.maxSessions) {
        static const char busy[] =
            "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 28\r\n\r\n"
            "too many streaming sessions\n";
        (void)::send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      live_.insert(fd);
    }
    connections_.start([this, fd] { serve(fd); });
  }
}

void Server::serve(int fd) {
  Connection conn(fd, backend_, tokens_, opts_);  // owns fd from here, closes it last
  conn.serve();
  std::lock_guard lock(mu_);
  live_.erase(fd);  // before conn closes fd, so that the destructor never shuts down a reused number
}

}  // namespace crix::streaming
