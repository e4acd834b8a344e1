#include "streaming/spdy_sessions.h"

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/thread_set.h"
#include "streaming/spdy_connection.h"

namespace crix::streaming {
namespace {

// Set when the connection's reader has ended.
class Latch {
 public:
  void set() {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  bool isSet() {
    std::lock_guard lock(mu_);
    return done_;
  }
  bool waitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

std::optional<Channel> channelNamed(const std::string& type) {
  if (type == "stdin") return Channel::Stdin;
  if (type == "stdout") return Channel::Stdout;
  if (type == "stderr") return Channel::Stderr;
  if (type == "error") return Channel::Error;
  if (type == "resize") return Channel::Resize;
  return std::nullopt;
}

class SessionHandler final : public SpdyHandler, public ClientSink {
 public:
  SessionHandler(SpdyConnection& conn, ChannelSet expect, bool jsonStatus, SessionInput& input, Latch& readerDone)
      : conn_(conn), expect_(expect), jsonStatus_(jsonStatus), input_(input), readerDone_(readerDone) {}

  void onStream(const spdy::Frame& syn) override {
    auto channel = channelNamed(syn.header("streamtype"));
    std::lock_guard lock(mu_);
    if (!channel || ids_.count(*channel)) {
      conn_.reset(syn.streamId, spdy::Rst::ProtocolError);
      return;
    }
    ids_[*channel] = syn.streamId;
    cv_.notify_all();
  }

  void onData(uint32_t stream, std::string_view data, bool fin) override {
    if (stream == id(Channel::Stdin)) {
      if (!data.empty()) input_.stdinData(data);
      if (fin) input_.stdinEnd();
    } else if (stream == id(Channel::Resize)) {
      resizeBuffer_.append(data);
      parseResizes(resizeBuffer_, [&](uint16_t w, uint16_t h) { input_.resize(w, h); });
    }
  }

  void onReset(uint32_t stream) override {
    if (stream == id(Channel::Stdin)) input_.stdinEnd();
  }

  // Waits until the client has opened every stream the request implies.
  bool waitReady(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    auto ready = [&] {
      return ids_.count(Channel::Error) && (!expect_.stdin || ids_.count(Channel::Stdin)) &&
             (!expect_.stdout || ids_.count(Channel::Stdout)) && (!expect_.stderr || ids_.count(Channel::Stderr)) &&
             (!expect_.resize || ids_.count(Channel::Resize));
    };
    while (!ready()) {
      if (readerDone_.isSet()) return false;
      if (cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline)
        return false;
    }
    return true;
  }

  bool send(Channel channel, std::string_view data) override {
    uint32_t stream = id(channel);
    if (stream == 0) return true;  // the client did not ask for this channel
    return conn_.send(stream, data, false);
  }

  void finish(const Outcome& outcome) override {
    std::map<Channel, uint32_t> ids;
    {
      std::lock_guard lock(mu_);
      ids = ids_;
    }
    if (auto it = ids.find(Channel::Error); it != ids.end())
      conn_.send(it->second, statusMessage(outcome, jsonStatus_), true);
    for (const auto& [channel, stream] : ids)
      if (channel != Channel::Error) conn_.send(stream, {}, true);
  }

 private:
  uint32_t id(Channel c) {
    std::lock_guard lock(mu_);
    auto it = ids_.find(c);
    return it == ids_.end() ? 0 : it->second;
  }

  SpdyConnection& conn_;
  ChannelSet expect_;
  bool jsonStatus_;
  SessionInput& input_;
  Latch& readerDone_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Channel, uint32_t> ids_;
  std::string resizeBuffer_;  // reader thread only
};

// How long a finished session waits for the client to close the connection
// after the last frames, so that nothing in flight is cut off.
constexpr std::chrono::seconds kLinger{5};

}  // namespace

Outcome serveSpdySession(sys::UniqueFd fd, std::string leftover, const SpdyOptions& opts, ChannelSet expect,
                         bool jsonStatus, const SessionStarter& start) {
  SpdyConnection conn(std::move(fd), std::move(leftover), opts.idleTimeout);
  SessionInput input;
  Latch readerDone;
  SessionHandler handler(conn, expect, jsonStatus, input, readerDone);
  std::thread reader([&] {
    std::string why = conn.run(handler);
    log::debug("streaming connection ended", {{"reason", why}});
    input.clientGone();
    readerDone.set();
  });

  Outcome outcome;
  if (handler.waitReady(opts.streamCreationTimeout)) {
    outcome = runSession(start, expect.resize, input, handler);
    readerDone.waitFor(kLinger);
  } else {
    input.bind(nullptr);
    outcome.error = "the client did not open the streams it asked for";
  }
  conn.shutdown();
  reader.join();
  return outcome;
}

namespace {

// One forwarded connection: a data stream and its error stream.
struct Forward {
  uint32_t dataId = 0, errorId = 0;
  uint16_t port = 0;
  std::mutex mu;
  std::condition_variable cv;
  sys::UniqueFd sock;
  bool decided = false;  // connected or failed
};

class PortForwardHandler final : public SpdyHandler {
 public:
  PortForwardHandler(SpdyConnection& conn, Backend& backend, std::string sandboxId)
      : conn_(conn), backend_(backend), sandboxId_(std::move(sandboxId)) {}

  // Closes every forwarded socket and joins their pumps. Called once the
  // connection's reader has ended, so no stream starts a pump meanwhile.
  ~PortForwardHandler() override {
    closeAll();
    pumps_.joinAll();
  }

  void onStream(const spdy::Frame& syn) override {
    std::string type = syn.header("streamtype"), request = syn.header("requestid");
    std::lock_guard lock(mu_);
    auto& slot = byRequest_[request];
    if (!slot) slot = std::make_shared<Forward>();
    std::shared_ptr<Forward> f = slot;
    if (type == "error") {
      f->errorId = syn.streamId;
      return;
    }
    byRequest_.erase(request);  // both streams are known now
    if (type != "data" || f->dataId != 0) {
      conn_.reset(syn.streamId, spdy::Rst::ProtocolError);
      return;
    }
    if (pumps_.running() >= kMaxForwardsPerConnection) {
      conn_.reset(syn.streamId, spdy::Rst::RefusedStream);
      return;
    }
    f->dataId = syn.streamId;
    byData_[syn.streamId] = f;
    std::string port = syn.header("port");
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      fail(*f, "invalid port " + port);
      return;
    }
    f->port = static_cast<uint16_t>(value);
    pumps_.start([this, f] {
      pump(f);
      std::lock_guard done(mu_);
      byData_.erase(f->dataId);
    });
  }

  void onData(uint32_t stream, std::string_view data, bool fin) override {
    auto f = forward(stream);
    if (!f) return;
    std::unique_lock lock(f->mu);
    f->cv.wait(lock, [&] { return f->decided; });
    if (!f->sock.valid()) return;
    int fd = f->sock.get();
    lock.unlock();
    while (!data.empty()) {
      ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      data.remove_prefix(static_cast<size_t>(w));
    }
    if (fin) ::shutdown(fd, SHUT_WR);
  }

  void onReset(uint32_t stream) override {
    if (auto f = forward(stream)) {
      std::lock_guard lock(f->mu);
      if (f->sock.valid()) ::shutdown(f->sock.get(), SHUT_RDWR);
    }
  }

  void closeAll() {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [id, f] : byData_) {
      std::lock_guard flock(f->mu);
      if (f->sock.valid()) ::shutdown(f->sock.get(), SHUT_RDWR);
    }
  }

 private:
  static constexpr size_t kMaxForwardsPerConnection = 1024;

  std::shared_ptr<Forward> forward(uint32_t dataId) {
    std::lock_guard lock(mu_);
    auto it = byData_.find(dataId);
    return it == byData_.end() ? nullptr : it->second;
  }

  void fail(Forward& f, const std::string& message) {
    {
      std::lock_guard lock(f.mu);
      f.decided = true;
      f.cv.notify_all();
    }
    if (f.errorId) conn_.send(f.errorId, message, true);
    conn_.send(f.dataId, {}, true);
  }

  // Connects, then copies from the pod's socket to the data stream.
  void pump(std::shared_ptr<Forward> f) {
    auto sock = backend_.connect(sandboxId_, f->port);
    if (!sock) {
      fail(*f, "error forwarding port " + std::to_string(f->port) + " to pod " + sandboxId_ + ": " +
                   sock.error().message());
      return;
    }
    int fd = sock->get();
    {
      std::lock_guard lock(f->mu);
      f->sock = std::move(*sock);
      f->decided = true;
      f->cv.notify_all();
    }
    {
      // Connected after closeAll() looked at this forward: close it here,
      // or the pump would wait for the pod to hang up.
      std::lock_guard lock(mu_);
      if (closing_) ::shutdown(fd, SHUT_RDWR);
    }
    std::string buf(32 << 10, '\0');
    for (;;) {
      ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      if (!conn_.send(f->dataId, std::string_view(buf.data(), static_cast<size_t>(r)), false)) break;
    }
    conn_.send(f->dataId, {}, true);
    if (f->errorId) conn_.send(f->errorId, {}, true);
  }

  SpdyConnection& conn_;
  Backend& backend_;
  std::string sandboxId_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Forward>> byRequest_;  // until the data stream arrives
  std::map<uint32_t, std::shared_ptr<Forward>> byData_;
  bool closing_ = false;  // closeAll() was called
  ThreadSet pumps_;       // one per forwarded connection; last, so it is joined first
};

}  // namespace

void serveSpdyPortForward(sys::UniqueFd fd, std::string leftover, const SpdyOptions& opts, Backend& backend,
                          const std::string& sandboxId) {
  SpdyConnection conn(std::move(fd), std::move(leftover), opts.idleTimeout);
  {
    PortForwardHandler handler(conn, backend, sandboxId);
    std::string why = conn.run(handler);
    log::debug("port-forward connection ended", {{"pod", sandboxId}, {"reason", why}});
    conn.shutdown();
    // The handler's destructor closes every forwarded socket and joins.
  }
}

}  // namespace crix::streaming
