#include "streaming/spdy_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace crix::streaming {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A client may send several frames at once; reads are this large.
constexpr size_t kReadChunk = 64 << 10;

}  // namespace

SpdyConnection::SpdyConnection(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout)
    : fd_(std::move(fd)), in_(std::move(leftover)), idleTimeout_(idleTimeout) {
  touch();
}

void SpdyConnection::touch() {
  lastActivity_.store(nowMs(), std::memory_order_relaxed);
}

std::string SpdyConnection::run(SpdyHandler& handler) {
  std::string buf(kReadChunk, '\0');
  for (;;) {
    size_t used = 0;
    auto parsed = codec_.parse(in_, used);
    if (!parsed) {
      goAway();
      return parsed.error().message();
    }
    if (*parsed) {
      in_.erase(0, used);
      touch();
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
    if (broken_) return "shut down";
    // Wait for more bytes, in slices so that the idle clock can be checked.
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 1000);
    if (n < 0 && errno != EINTR) return "poll failed";
    if (n <= 0) {
      if (broken_) return "shut down";
      if (nowMs() - lastActivity_.load(std::memory_order_relaxed) > idleTimeout_.count()) {
        goAway();
        return "idle timeout";
      }
      continue;
    }
    ssize_t r = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (r == 0) return "client closed the connection";
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return "read failed";
    }
    in_.append(buf.data(), static_cast<size_t>(r));
    if (in_.size() > spdy::kMaxFrameLength + spdy::kFrameHeaderSize + kReadChunk) return "frame too large";
  }
}

bool SpdyConnection::writeFrame(const std::string& frame) {
  size_t off = 0;
  while (off < frame.size()) {
    if (broken_) return false;
    ssize_t w = ::send(fd_.get(), frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  touch();
  return true;
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
  broken_ = true;
  ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace crix::streaming
