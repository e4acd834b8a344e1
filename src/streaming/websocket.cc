#include "streaming/websocket.h"

#include <openssl/sha.h>

#include "common/base64.h"

namespace crix::streaming::ws {
namespace {

bool isControl(Op op) {
  return static_cast<uint8_t>(op) >= 8;
}

bool knownOp(uint8_t op) {
  return op <= 2 || (op >= 8 && op <= 10);
}

Result<std::optional<Frame>> bad(const std::string& why) {
  return fail(Code::InvalidArgument, "websocket: " + why);
}

}  // namespace

Result<std::optional<Frame>> parse(std::string_view in, size_t& used, bool masked) {
  used = 0;
  if (in.size() < 2) return std::optional<Frame>();
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  Frame f;
  f.fin = (byte(0) & 0x80) != 0;
  if (byte(0) & 0x70) return bad("reserved bits set without an extension");
  uint8_t op = byte(0) & 0x0f;
  if (!knownOp(op)) return bad("unknown opcode " + std::to_string(op));
  f.op = static_cast<Op>(op);
  bool hasMask = (byte(1) & 0x80) != 0;
  if (hasMask != masked) return bad(masked ? "client frame without a mask" : "unexpected mask");
  uint64_t length = byte(1) & 0x7f;
  size_t at = 2;
  if (length == 126) {
    if (in.size() < 4) return std::optional<Frame>();
    length = uint64_t{byte(2)} << 8 | byte(3);
    at = 4;
  } else if (length == 127) {
    if (in.size() < 10) return std::optional<Frame>();
    length = 0;
    for (size_t i = 0; i < 8; ++i) length = length << 8 | byte(2 + i);
    if (length >> 63) return bad("length with the top bit set");
    at = 10;
  }
  if (isControl(f.op) && (length > 125 || !f.fin)) return bad("oversized or fragmented control frame");
  if (length > kMaxMessage) return bad("frame larger than " + std::to_string(kMaxMessage) + " bytes");
  uint8_t key[4] = {};
  if (hasMask) {
    if (in.size() < at + 4) return std::optional<Frame>();
    for (int i = 0; i < 4; ++i) key[i] = byte(at + i);
    at += 4;
  }
  if (in.size() < at + length) return std::optional<Frame>();
  f.payload.assign(in.substr(at, length));
  if (hasMask)
    for (size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ key[i % 4]);
  used = at + length;
  return std::optional<Frame>(std::move(f));
}

std::string encode(Op op, std::string_view payload, std::optional<uint32_t> mask, bool fin) {
  std::string out;
  out.reserve(payload.size() + 14);
  out += static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
  uint8_t maskBit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out += static_cast<char>(maskBit | payload.size());
  } else if (payload.size() <= 0xffff) {
    out += static_cast<char>(maskBit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size());
  } else {
    out += static_cast<char>(maskBit | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>(uint64_t{payload.size()} >> (8 * i));
  }
  if (!mask) return out.append(payload);
  char key[4] = {static_cast<char>(*mask >> 24), static_cast<char>(*mask >> 16), static_cast<char>(*mask >> 8),
                 static_cast<char>(*mask)};
  out.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ key[i % 4]);
  return out;
}

std::string acceptKey(std::string_view key) {
  std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Connection::Connection(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout)
    : socket_(std::move(fd), std::move(leftover), idleTimeout) {}

std::string Connection::run(MessageHandler& handler) {
  std::string& in = socket_.input();
  std::string message;
  Op messageOp = Op::Binary;
  bool inMessage = false;
  for (;;) {
    size_t used = 0;
    auto parsed = parse(in, used, true);
    if (!parsed) {
      std::lock_guard lock(writeMu_);
      write(encode(Op::Close, std::string("\x03\xea", 2) + parsed.error().message().substr(0, 100)));
      return parsed.error().message();
    }
    if (*parsed) {
      in.erase(0, used);
      Frame& f = **parsed;
      switch (f.op) {
        case Op::Ping: {
          std::lock_guard lock(writeMu_);
          write(encode(Op::Pong, f.payload));
          break;
        }
        case Op::Pong: break;
        case Op::Close: close(); return "client closed";
        case Op::Continuation:
          if (!inMessage) return "continuation without a message";
          [[fallthrough]];
        default:
          if (f.op != Op::Continuation) {
            if (inMessage) return "new message inside a fragmented one";
            messageOp = f.op;
            message.clear();
          }
          message += f.payload;
          if (message.size() > kMaxMessage) return "message too large";
          inMessage = !f.fin;
          if (f.fin) handler.onMessage(messageOp, message);
      }
      continue;
    }
    if (auto ended = socket_.readMore()) {
      if (*ended == UpgradedSocket::kIdle) close();
      return *ended;
    }
  }
}

bool Connection::send(Op op, std::string_view payload) {
  std::string frame = encode(op, payload);
  std::lock_guard lock(writeMu_);
  if (closeSent_) return false;
  return write(frame);
}

void Connection::close() {
  std::lock_guard lock(writeMu_);
  if (!closeSent_.exchange(true)) write(encode(Op::Close, std::string("\x03\xe8", 2)));
}

void Connection::shutdown() {
  socket_.shutdown();
}

}  // namespace crix::streaming::ws
