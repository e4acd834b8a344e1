#include "streaming/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include "streaming/websocket.h"

namespace crix::streaming {
namespace {

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w <= 0) return false;
    data.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

// Appends what arrives within `ms`; false when the peer closed or failed.
bool readSome(int fd, std::string& into, int ms) {
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, ms);
  if (n <= 0) return true;
  char buf[65536];
  ssize_t r = ::recv(fd, buf, sizeof buf, 0);
  if (r <= 0) return false;
  into.append(buf, static_cast<size_t>(r));
  return true;
}

template <typename Step>
bool pump(int fd, std::string& in, const std::function<bool()>& done, std::chrono::milliseconds timeout, bool* closed,
          Step step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (step()) {
    }
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (fd < 0 || !readSome(fd, in, 100)) {
      *closed = true;
      while (step()) {
      }
      return done();
    }
  }
}

}  // namespace

Upgraded dial(const std::string& url, const std::vector<std::string>& headerLines, const std::string& method) {
  Upgraded up;
  // http://127.0.0.1:PORT/path (IPv4 hosts only)
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return up;
  std::string rest = url.substr(scheme + 3);
  std::string hostPort = rest.substr(0, rest.find('/'));
  std::string path = rest.substr(hostPort.size());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(hostPort.substr(hostPort.rfind(':') + 1).c_str())));
  ::inet_pton(AF_INET, hostPort.substr(0, hostPort.rfind(':')).c_str(), &addr.sin_addr);
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return up;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + hostPort + "\r\nContent-Length: 0\r\n";
  for (const auto& h : headerLines) req += h + "\r\n";
  req += "\r\n";
  writeAll(fd.get(), req);
  std::string in;
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos)
    if (!readSome(fd.get(), in, 5000) || in.size() > 65536) return up;
  std::string head = in.substr(0, end);
  up.leftover = in.substr(end + 4);
  up.status = std::atoi(head.substr(head.find(' ') + 1, 3).c_str());
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      up.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  if (up.status != 101) {
    up.body = up.leftover;
    readSome(fd.get(), up.body, 500);
    return up;
  }
  up.fd = std::move(fd);
  return up;
}

SpdyClient::SpdyClient(const std::string& url, const std::string& protocol)
    : up_(dial(url, {"Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: " + protocol})) {}

uint32_t SpdyClient::open(const spdy::Headers& headers) {
  uint32_t id = next_;
  next_ += 2;
  writeAll(up_.fd.get(), codec_.synStream(id, headers, false));
  return id;
}

void SpdyClient::send(uint32_t stream, std::string_view bytes, bool fin) {
  writeAll(up_.fd.get(), codec_.data(stream, bytes, fin));
}

bool SpdyClient::readUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  std::string& in = up_.leftover;
  return pump(up_.fd.get(), in, done, timeout, &closed, [&] {
    size_t used = 0;
    auto f = codec_.parse(in, used);
    if (!f || !*f) return false;
    in.erase(0, used);
    const spdy::Frame& frame = **f;
    switch (frame.type) {
      case spdy::Type::Data:
        data[frame.streamId] += frame.data;
        if (frame.fin()) finished.insert(frame.streamId);
        break;
      case spdy::Type::SynReply:
        replied.insert(frame.streamId);
        if (frame.fin()) finished.insert(frame.streamId);
        break;
      case spdy::Type::RstStream: reset.insert(frame.streamId); break;
      case spdy::Type::GoAway: goneAway = true; break;
      default: break;
    }
    return true;
  });
}

WsClient::WsClient(const std::string& url, const std::string& protocol)
    : up_(dial(url,
               {"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: " + protocol},
               "GET")) {}

void WsClient::send(uint8_t channel, std::string_view bytes) {
  std::string msg(1, static_cast<char>(channel));
  msg.append(bytes);
  sendRaw(msg);
}

void WsClient::sendRaw(std::string_view message) {
  writeAll(up_.fd.get(), ws::encode(ws::Op::Binary, message, 0x11223344));
}

bool WsClient::readUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return pump(up_.fd.get(), up_.leftover, done, timeout, &closed, [&] {
    size_t used = 0;
    auto f = ws::parse(up_.leftover, used, false);
    if (!f || !*f) return false;
    up_.leftover.erase(0, used);
    const auto& frame = **f;
    if (frame.op == ws::Op::Close) {
      closed = true;
    } else if (!frame.payload.empty()) {
      messages.push_back(frame.payload);
      data[static_cast<uint8_t>(frame.payload[0])] += frame.payload.substr(1);
    }
    return true;
  });
}

}  // namespace crix::streaming
