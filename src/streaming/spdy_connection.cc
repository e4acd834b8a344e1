#include "streaming/spdy_connection.h"

#include <algorithm>

namespace crix::streaming {
SpdyConnection::SpdyConnection(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout)
    : socket_(std::move(fd), std::move(leftover), idleTimeout) {}

std::string SpdyConnection::run(SpdyHandler& handler) {
  std::string& in = socket_.input();
  for (;;) {
    size_t used = 0;
    auto parsed = codec_.parse(in, used);
    if (!parsed) {
      goAway();
      return parsed.error().message();
    }
    if (*parsed) {
      in.erase(0, used);
      spdy::Frame& f = **parsed;
      switch (f.type) {
        case spdy::Type::SynStream:
          if (f.streamId % 2 == 0 || f.streamId <= lastClientStream_) {
            reset(f.streamId, spdy::Rst::ProtocolError);
            break;
          }
          lastClientStream_ = f.streamId;
          {
            std::lock_guard lock(writeMu_);
            if (!writeFrame(codec_.synReply(f.streamId, {}, false))) return "write failed";
          }
          handler.onStream(f);
          if (f.fin()) handler.onData(f.streamId, {}, true);
          break;
        case spdy::Type::Data: handler.onData(f.streamId, f.data, f.fin()); break;
        case spdy::Type::RstStream: handler.onReset(f.streamId); break;
        case spdy::Type::Ping:
          if (f.value % 2 == 1) {
            std::lock_guard lock(writeMu_);
            writeFrame(codec_.ping(f.value));
          }
          break;
        case spdy::Type::GoAway: return "client sent GOAWAY";
        default: break;  // SETTINGS, WINDOW_UPDATE, HEADERS: nothing depends on them
      }
      continue;
    }
    if (auto ended = socket_.readMore()) {
      if (*ended == UpgradedSocket::kIdle) goAway();
      return *ended;
    }
    // A frame's length is capped, so a larger backlog is not a frame.
    if (in.size() > spdy::kMaxFrameLength + spdy::kFrameHeaderSize + (64 << 10)) return "frame too large";
  }
}

bool SpdyConnection::send(uint32_t stream, std::string_view data, bool fin) {
  // Large writes go out in slices so that other streams are not starved.
  constexpr size_t kSlice = 32 << 10;
  do {
    size_t n = std::min(data.size(), kSlice);
    bool last = n == data.size();
    std::lock_guard lock(writeMu_);
    if (!writeFrame(codec_.data(stream, data.substr(0, n), fin && last))) return false;
    data.remove_prefix(n);
  } while (!data.empty());
  return true;
}

void SpdyConnection::reset(uint32_t stream, spdy::Rst status) {
  std::lock_guard lock(writeMu_);
  writeFrame(codec_.rstStream(stream, status));
}

void SpdyConnection::goAway() {
  std::lock_guard lock(writeMu_);
  writeFrame(codec_.goAway(lastClientStream_, 0));
}

void SpdyConnection::shutdown() {
  socket_.shutdown();
}

}  // namespace crix::streaming
