// One SPDY/3.1 connection after the HTTP upgrade: a reader that turns frames
// into handler calls, and writes from any thread.
//
// The client opens every stream (SYN_STREAM, odd ids, increasing); each is
// answered with an empty SYN_REPLY before the handler hears of it. PINGs from
// the client are echoed. The reader ends at EOF, GOAWAY, a protocol error,
// shutdown(), or when neither side has sent a frame for the idle timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "streaming/spdy.h"
#include "streaming/upgraded_socket.h"
#include "sys/unique_fd.h"

namespace crix::streaming {

class SpdyHandler {
 public:
  virtual ~SpdyHandler() = default;
  virtual void onStream(const spdy::Frame& syn) = 0;
  // Data from the client; fin marks the last of it on that stream.
  virtual void onData(uint32_t stream, std::string_view data, bool fin) = 0;
  virtual void onReset(uint32_t stream) = 0;
};

class SpdyConnection {
 public:
  SpdyConnection(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout);

  // Reads until the connection ends; returns why, for the log.
  std::string run(SpdyHandler& handler);

  // Thread-safe; blocks while the socket is full. False once the connection
  // is broken.
  bool send(uint32_t stream, std::string_view data, bool fin);
  void reset(uint32_t stream, spdy::Rst status);
  void goAway();
  // Ends run() and fails every later send.
  void shutdown();

 private:
  bool writeFrame(const std::string& frame) { return socket_.write(frame); }

  UpgradedSocket socket_;
  std::atomic<uint32_t> lastClientStream_{0};
  std::mutex writeMu_;  // guards the codec's compressor and the socket's write side
  spdy::Codec codec_;
};

}  // namespace crix::streaming
