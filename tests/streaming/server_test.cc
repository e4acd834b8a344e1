#include "streaming/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "common/parse.h"
#include "streaming/client.h"

namespace crix::streaming {
namespace {

using namespace std::chrono_literals;

// An exec whose process prints one line, then runs until it is aborted.
class BlockingSession final : public Session {
 public:
  explicit BlockingSession(std::atomic<int>& aborted) : aborted_(aborted) {}
  std::optional<Output> read() override {
    std::unique_lock lock(mu_);
    if (!greeted_) {
      greeted_ = true;
      return Output{Channel::Stdout, "started\n"};
    }
    cv_.wait(lock, [&] { return stop_; });
    return std::nullopt;
  }
  Result<> writeStdin(std::string_view) override { return {}; }
  void closeStdin() override {}
  void resize(uint16_t, uint16_t) override {}
  Result<int> wait() override { return 137; }
  void abort() override {
    std::lock_guard lock(mu_);
    if (!stop_) ++aborted_;
    stop_ = true;
    cv_.notify_all();
  }

 private:
  std::atomic<int>& aborted_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool greeted_ = false, stop_ = false;
};

// Exec runs BlockingSession; port-forward hands out one end of a socket
// pair, whose other end (the "pod") stays open until the test ends.
class FakeBackend final : public Backend {
 public:
  Result<std::unique_ptr<Session>> exec(const ExecRequest&) override {
    return std::make_unique<BlockingSession>(aborted);
  }
  Result<std::unique_ptr<Session>> attach(const AttachRequest&) override {
    return std::make_unique<BlockingSession>(aborted);
  }
  Result<sys::UniqueFd> connect(const std::string&, uint16_t) override {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return failErrno("socketpair", errno);
    std::lock_guard lock(mu);
    pods.emplace_back(sv[1]);
    cv.notify_all();
    return sys::UniqueFd(sv[0]);
  }
  // The pod's end of the first forwarded connection, once there is one.
  int pod() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 10s, [&] { return !pods.empty(); });
    return pods.empty() ? -1 : pods.front().get();
  }

  std::atomic<int> aborted{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<sys::UniqueFd> pods;
};

std::unique_ptr<Server> startServer(Backend& backend) {
  auto server = Server::start({}, backend);
  EXPECT_TRUE(server) << server.error().message();
  return server ? std::move(*server) : nullptr;
}

// Destroying the server while its connections are open returns promptly,
// ends every session, and leaves no thread behind using the server or the
// backend (under ASan, a session thread outliving the server would show).
TEST(StreamingServer, StopsWhileAnExecRuns) {
  FakeBackend backend;
  auto server = startServer(backend);
  ASSERT_TRUE(server);
  auto url = server->url(ExecRequest{.containerId = "c1", .cmd = {"sleep", "1d"}, .stdout = true});
  ASSERT_TRUE(url) << url.error().message();
  SpdyClient c(*url);
  ASSERT_TRUE(c.ok()) << c.upgrade().status << " " << c.upgrade().body;
  c.open({{"streamtype", "error"}});
  uint32_t out = c.open({{"streamtype", "stdout"}});
  ASSERT_TRUE(c.readUntil([&] { return c.data[out] == "started\n"; }, 10s));

  auto started = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(backend.aborted, 1);  // the client is gone as far as the session knows
  c.readUntil([&] { return c.closed; }, 5s);
  EXPECT_TRUE(c.closed);
}

TEST(StreamingServer, StopsWhileAPortIsForwarded) {
  FakeBackend backend;
  auto server = startServer(backend);
  ASSERT_TRUE(server);
  auto url = server->url(PortForwardRequest{.sandboxId = "p1", .ports = {80}});
  ASSERT_TRUE(url) << url.error().message();
  SpdyClient c(*url, "portforward.k8s.io");
  ASSERT_TRUE(c.ok()) << c.upgrade().status << " " << c.upgrade().body;
  c.open({{"streamtype", "error"}, {"port", "80"}, {"requestid", "0"}});
  uint32_t data = c.open({{"streamtype", "data"}, {"port", "80"}, {"requestid", "0"}});
  int pod = backend.pod();
  ASSERT_GE(pod, 0);
  ASSERT_EQ(::send(pod, "hello", 5, MSG_NOSIGNAL), 5);
  ASSERT_TRUE(c.readUntil([&] { return c.data[data] == "hello"; }, 10s)) << c.data[data];

  // The pod never hangs up: the server's destructor closes the forward.
  auto started = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  char buf[8];
  EXPECT_EQ(::recv(pod, buf, sizeof buf, MSG_DONTWAIT), 0) << "the forwarded connection is closed";
}

// A client that connects and says nothing holds its connection's thread in
// the request read (10 s): the destructor does not wait for that.
TEST(StreamingServer, StopsWhileAClientSaysNothing) {
  FakeBackend backend;
  auto server = startServer(backend);
  ASSERT_TRUE(server);
  std::string base = server->baseUrl();  // http://127.0.0.1:PORT
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  auto port = parseNumber<uint16_t>(std::string_view(base).substr(base.rfind(':') + 1));
  ASSERT_TRUE(port) << base;
  addr.sin_port = htons(*port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::vector<sys::UniqueFd> clients;
  for (int i = 0; i < 3; ++i) {
    sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    clients.push_back(std::move(fd));
  }
  std::this_thread::sleep_for(50ms);  // accepted, each thread in its read

  auto started = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  for (auto& fd : clients) {
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
    char buf[256];
    EXPECT_LE(::recv(fd.get(), buf, sizeof buf, 0), 0) << "closed unanswered";
  }
}

}  // namespace
}  // namespace crix::streaming
