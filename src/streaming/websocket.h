// WebSocket (RFC 6455) framing and one server-side connection.
//
//   byte 0: FIN | RSV1-3 | opcode(4)     byte 1: MASK | length(7)
//   length 126: 16-bit length follows; 127: 64-bit length follows
//   then a 4-byte masking key when MASK (every client frame), then payload
//
// No extensions are negotiated, so RSV bits must be 0. Control frames
// (close, ping, pong) are at most 125 bytes and never fragmented.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "streaming/upgraded_socket.h"
#include "sys/unique_fd.h"

namespace crix::streaming::ws {

enum class Op : uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

inline constexpr size_t kMaxMessage = 16 << 20;

struct Frame {
  bool fin = true;
  Op op = Op::Binary;
  std::string payload;  // unmasked
};

// Reads the frame at the front of `in`; nothing while it is incomplete.
// `masked`: whether frames must carry a mask (true for frames from clients).
Result<std::optional<Frame>> parse(std::string_view in, size_t& used, bool masked);

// A frame; with a mask (as a client sends) when `mask` is given.
std::string encode(Op op, std::string_view payload, std::optional<uint32_t> mask = std::nullopt, bool fin = true);

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
std::string acceptKey(std::string_view key);

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // A whole message (fragments joined), text or binary.
  virtual void onMessage(Op op, std::string_view payload) = 0;
};

// A server-side connection: answers pings and close, joins fragments.
class Connection {
 public:
  Connection(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout);
  // Reads until the client closes or the connection breaks; returns why.
  std::string run(MessageHandler& handler);
  // Thread-safe; false once the connection is broken.
  bool send(Op op, std::string_view payload);
  // Sends a close frame (status 1000), once; later sends fail.
  void close();
  // Ends run() and fails every later send.
  void shutdown();

 private:
  bool write(const std::string& bytes) { return socket_.write(bytes); }

  UpgradedSocket socket_;
  std::atomic<bool> closeSent_{false};
  std::mutex writeMu_;
};

}  // namespace crix::streaming::ws
