#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/host_port.h"
#include "sys/unique_fd.h"

namespace crix::metrics {
namespace {

MetricsServer::Render body(std::string text) {
  return [text] { return text; };
}

TEST(MetricsRespond, ServesMetricsToGetAndHead) {
  std::string get = respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", body("a 1\n"));
  EXPECT_EQ(get,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 4\r\n"
            "Connection: close\r\n\r\n"
            "a 1\n");
  std::string head = respond("HEAD /metrics HTTP/1.0\r\n\r\n", body("a 1\n"));
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_NE(head.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  // A query string does not change the path; bare LF line ends are read too.
  EXPECT_TRUE(respond("GET /metrics?x=1 HTTP/1.1\n\n", body("")).starts_with("HTTP/1.1 200 OK"));
}

TEST(MetricsRespond, RefusesOtherPathsMethodsAndGarbage) {
  struct Row {
    const char* request;
    const char* status;
  };
  for (auto [request, status] :
       {Row{"GET / HTTP/1.1\r\n\r\n", "404 Not Found"}, Row{"GET /metricsx HTTP/1.1\r\n\r\n", "404 Not Found"},
        Row{"GET /metrics/ HTTP/1.1\r\n\r\n", "404 Not Found"},
        Row{"POST /metrics HTTP/1.1\r\n\r\n", "405 Method Not Allowed"}, Row{"GET /metrics\r\n\r\n", "400 Bad Request"},
        Row{"GET /metrics SPDY/3\r\n\r\n", "400 Bad Request"}, Row{" /metrics HTTP/1.1\r\n\r\n", "400 Bad Request"},
        Row{"\r\n\r\n", "400 Bad Request"}}) {
    std::string r = respond(request, body("secret"));
    EXPECT_TRUE(r.starts_with(std::string("HTTP/1.1 ") + status + "\r\n")) << request << " → " << r;
    EXPECT_EQ(r.find("secret"), std::string::npos);
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  }
  EXPECT_NE(respond("PUT /metrics HTTP/1.1\r\n\r\n", body("")).find("Allow: GET, HEAD\r\n"), std::string::npos);
}

sys::UniqueFd connectTo(const std::string& address) {
  auto hp = parseHostPort(address);
  EXPECT_TRUE(hp);
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(hp->port);
  ::inet_pton(AF_INET, hp->host.c_str(), &sa.sin_addr);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  return fd;
}

std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string roundTrip(const std::string& address, const std::string& request) {
  auto fd = connectTo(address);
  EXPECT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  return readAll(fd.get());
}

TEST(MetricsServer, AnswersScrapesOnLoopback) {
  std::atomic<int> renders{0};
  auto server = MetricsServer::start("127.0.0.1:0", [&] { return "crix_up " + std::to_string(++renders) + "\n"; });
  ASSERT_TRUE(server) << server.error().message();
  EXPECT_TRUE((*server)->address().starts_with("127.0.0.1:"));
  EXPECT_NE((*server)->address(), "127.0.0.1:0");
  std::string first = roundTrip((*server)->address(), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200 OK\r\n")) << first;
  EXPECT_TRUE(first.ends_with("\r\n\r\ncrix_up 1\n")) << first;
  EXPECT_TRUE(roundTrip((*server)->address(), "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  // A request that arrives in pieces.
  auto fd = connectTo((*server)->address());
  for (std::string piece : {"GET /met", "rics HTTP/1.1\r\n", "Host: t\r\n", "\r\n"}) {
    ::send(fd.get(), piece.data(), piece.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(readAll(fd.get()).ends_with("crix_up 2\n"));
}

TEST(MetricsServer, CapsTheRequestSize) {
  auto server = MetricsServer::start("127.0.0.1:0", body("x\n"), {.maxRequestBytes = 64});
  ASSERT_TRUE(server);
  std::string big = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(200, 'a') + "\r\n\r\n";
  EXPECT_TRUE(roundTrip((*server)->address(), big).starts_with("HTTP/1.1 431 ")) << big;
}

TEST(MetricsServer, TimesOutASilentClient) {
  auto server = MetricsServer::start("127.0.0.1:0", body("x\n"), {.timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(server);
  auto silent = connectTo((*server)->address());
  auto started = std::chrono::steady_clock::now();
  std::string r = readAll(silent.get());
  EXPECT_TRUE(r.starts_with("HTTP/1.1 408 ")) << r;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  // The server still serves others.
  EXPECT_TRUE(roundTrip((*server)->address(), "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
}

TEST(MetricsServer, StopsWhileAClientHoldsAConnection) {
  auto server = MetricsServer::start("127.0.0.1:0", body("x\n"), {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(server);
  auto held = connectTo((*server)->address());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto started = std::chrono::steady_clock::now();
  server->reset();  // shuts the connection down and joins its handler
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

// The destructor does not wait out a handler's timeout: it shuts the
// connections down and joins their threads, so none runs on after it (under
// ASan, a handler touching the freed server would show).
TEST(MetricsServer, StopsHandlersInsteadOfWaitingForTheirTimeout) {
  auto server = MetricsServer::start("127.0.0.1:0", body("x\n"), {.timeout = std::chrono::minutes(5)});
  ASSERT_TRUE(server);
  auto silent = connectTo((*server)->address());
  auto partial = connectTo((*server)->address());
  std::string half = "GET /metrics HTTP/1.1\r\n";
  ::send(partial.get(), half.data(), half.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both accepted, their handlers waiting
  auto started = std::chrono::steady_clock::now();
  server->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(readAll(silent.get()), "");  // closed unanswered
  EXPECT_EQ(readAll(partial.get()), "");
}

TEST(MetricsServer, RefusesBadAndTakenAddresses) {
  EXPECT_FALSE(MetricsServer::start("nonsense", body("")));
  EXPECT_FALSE(MetricsServer::start("127.0.0.1:99999", body("")));
  auto first = MetricsServer::start("127.0.0.1:0", body(""));
  ASSERT_TRUE(first);
  auto second = MetricsServer::start((*first)->address(), body(""));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("listen for metrics"), std::string::npos) << second.error().message();
}

TEST(MetricsHostPort, SplitsHostAndPort) {
  struct Row {
    const char* text;
    const char* host;
    int port;
  };
  for (auto [text, host, port] : {Row{"127.0.0.1:9090", "127.0.0.1", 9090}, Row{"localhost:1", "localhost", 1},
                                  Row{"[::1]:9090", "::1", 9090}, Row{":9090", "", 9090}}) {
    auto hp = parseHostPort(text);
    ASSERT_TRUE(hp) << text;
    EXPECT_EQ(hp->host, host);
    EXPECT_EQ(hp->port, port);
  }
  for (auto bad : {"", "9090", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "::1:9090", "[::1:9090",
                   "[]:9090", "host:90 "})
    EXPECT_FALSE(parseHostPort(bad)) << bad;
}

}  // namespace
}  // namespace crix::metrics
