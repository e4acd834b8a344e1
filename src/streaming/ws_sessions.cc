#include "streaming/ws_sessions.h"

#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/base64.h"
#include "common/log.h"
#include "streaming/websocket.h"

namespace crix::streaming {

const std::vector<std::string> kWsChannelProtocols = {
    "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io", "channel.k8s.io"};
const std::vector<std::string> kWsPortForwardProtocols = {
    "portforward.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io", "channel.k8s.io"};

namespace {

constexpr uint8_t kCloseChannel = 255;
constexpr std::chrono::seconds kLinger{5};

// How channels are put into messages, per subprotocol.
struct ChannelCodec {
  bool base64 = false;
  bool v5 = false;
  bool jsonStatus = false;

  explicit ChannelCodec(const std::string& protocol)
      : base64(protocol.find("base64") != std::string::npos),
        v5(protocol == "v5.channel.k8s.io"),
        jsonStatus(protocol.rfind("v4.", 0) == 0 || protocol.rfind("v5.", 0) == 0) {}

  std::pair<ws::Op, std::string> encode(uint8_t channel, std::string_view data) const {
    if (base64) return {ws::Op::Text, std::string(1, static_cast<char>('0' + channel)) + base64Encode(data)};
    std::string out(1, static_cast<char>(channel));
    out.append(data);
    return {ws::Op::Binary, out};
  }

  // The channel and payload of a message; nothing when it is malformed.
  std::optional<std::pair<uint8_t, std::string>> decode(std::string_view msg) const {
    if (msg.empty()) return std::nullopt;
    if (!base64) return std::make_pair(static_cast<uint8_t>(msg[0]), std::string(msg.substr(1)));
    if (msg[0] < '0' || msg[0] > '9') return std::nullopt;
    auto data = base64Decode(msg.substr(1));
    if (!data) return std::nullopt;
    return std::make_pair(static_cast<uint8_t>(msg[0] - '0'), std::move(*data));
  }
};

class SessionHandler final : public ws::MessageHandler, public ClientSink {
 public:
  SessionHandler(ws::Connection& conn, const ChannelCodec& codec, SessionInput& input)
      : conn_(conn), codec_(codec), input_(input) {}

  void onMessage(ws::Op, std::string_view payload) override {
    auto msg = codec_.decode(payload);
    if (!msg) return;
    auto& [channel, data] = *msg;
    if (codec_.v5 && channel == kCloseChannel) {
      if (!data.empty() && data[0] == static_cast<char>(Channel::Stdin)) input_.stdinEnd();
      return;
    }
    if (channel == static_cast<uint8_t>(Channel::Stdin)) {
      if (!data.empty()) input_.stdinData(data);
    } else if (channel == static_cast<uint8_t>(Channel::Resize)) {
      resizeBuffer_ += data;
      if (resizeBuffer_.empty() || resizeBuffer_.back() != '\n') resizeBuffer_ += '\n';
      parseResizes(resizeBuffer_, [&](uint16_t w, uint16_t h) { input_.resize(w, h); });
    }
  }

  bool send(Channel channel, std::string_view data) override {
    auto [op, msg] = codec_.encode(static_cast<uint8_t>(channel), data);
    return conn_.send(op, msg);
  }

  void finish(const Outcome& outcome) override {
    std::string status = statusMessage(outcome, codec_.jsonStatus);
    if (!status.empty()) send(Channel::Error, status);
    conn_.close();
  }

 private:
  ws::Connection& conn_;
  const ChannelCodec& codec_;
  SessionInput& input_;
  std::string resizeBuffer_;
};

}  // namespace

Outcome serveWsSession(sys::UniqueFd fd, std::string leftover, const WsOptions& opts, bool tty,
                       const SessionStarter& start) {
  ws::Connection conn(std::move(fd), std::move(leftover), opts.idleTimeout);
  ChannelCodec codec(opts.protocol);
  SessionInput input;
  SessionHandler handler(conn, codec, input);
  std::mutex mu;
  std::condition_variable cv;
  bool readerDone = false;
  std::thread reader([&] {
    std::string why = conn.run(handler);
    log::debug("websocket ended", {{"reason", why}});
    input.clientGone();
    std::lock_guard lock(mu);
    readerDone = true;
    cv.notify_all();
  });
  Outcome outcome = runSession(start, tty, input, handler);
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, kLinger, [&] { return readerDone; });
  }
  conn.shutdown();
  reader.join();
  return outcome;
}

std::vector<int32_t> portsFromQuery(const std::string& target) {
  std::vector<int32_t> ports;
  auto q = target.find('?');
  if (q == std::string::npos) return ports;
  std::string query = target.substr(q + 1);
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(start, amp - start);
    if (pair.rfind("port=", 0) == 0) ports.push_back(std::atoi(pair.c_str() + 5));
    start = amp + 1;
  }
  return ports;
}

namespace {

class PortForwardHandler final : public ws::MessageHandler {
 public:
  PortForwardHandler(std::vector<sys::UniqueFd>& socks, const ChannelCodec& codec) : socks_(socks), codec_(codec) {}

  void onMessage(ws::Op, std::string_view payload) override {
    auto msg = codec_.decode(payload);
    if (!msg || msg->first % 2 != 0) return;  // only data channels carry input
    size_t index = msg->first / 2;
    if (index >= socks_.size() || !socks_[index].valid()) return;
    std::string_view data = msg->second;
    while (!data.empty()) {
      ssize_t w = ::send(socks_[index].get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      data.remove_prefix(static_cast<size_t>(w));
    }
  }

 private:
  std::vector<sys::UniqueFd>& socks_;
  const ChannelCodec& codec_;
};

}  // namespace

void serveWsPortForward(sys::UniqueFd fd, std::string leftover, const WsOptions& opts, Backend& backend,
                        const PortForwardRequest& req, const std::string& target) {
  ws::Connection conn(std::move(fd), std::move(leftover), opts.idleTimeout);
  ChannelCodec codec(opts.protocol);
  std::vector<int32_t> ports = portsFromQuery(target);
  if (ports.empty()) ports = req.ports;

  auto sendOn = [&](size_t channel, std::string_view data) {
    auto [op, msg] = codec.encode(static_cast<uint8_t>(channel), data);
    return conn.send(op, msg);
  };
  std::vector<sys::UniqueFd> socks(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    uint16_t port = static_cast<uint16_t>(ports[i]);
    char prefix[2] = {static_cast<char>(port & 0xff), static_cast<char>(port >> 8)};
    sendOn(2 * i, std::string_view(prefix, 2));
    sendOn(2 * i + 1, std::string_view(prefix, 2));
    if (ports[i] < 1 || ports[i] > 65535) {
      sendOn(2 * i + 1, "invalid port " + std::to_string(ports[i]));
      continue;
    }
    auto sock = backend.connect(req.sandboxId, port);
    if (!sock) {
      sendOn(2 * i + 1, "error forwarding port " + std::to_string(port) + " to pod " + req.sandboxId + ": " +
                            sock.error().message());
      continue;
    }
    socks[i] = std::move(*sock);
  }

  std::vector<std::thread> pumps;
  for (size_t i = 0; i < socks.size(); ++i) {
    if (!socks[i].valid()) continue;
    pumps.emplace_back([&, i] {
      std::string buf(32 << 10, '\0');
      for (;;) {
        ssize_t r = ::recv(socks[i].get(), buf.data(), buf.size(), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || !sendOn(2 * i, std::string_view(buf.data(), static_cast<size_t>(r)))) break;
      }
    });
  }
  PortForwardHandler handler(socks, codec);
  std::string why = conn.run(handler);
  log::debug("websocket port-forward ended", {{"pod", req.sandboxId}, {"reason", why}});
  conn.shutdown();
  for (auto& s : socks)
    if (s.valid()) ::shutdown(s.get(), SHUT_RDWR);
  for (auto& t : pumps) t.join();
}

}  // namespace crix::streaming
