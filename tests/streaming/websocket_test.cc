// WebSocket framing against the examples of RFC 6455, section 5.7.
#include "streaming/websocket.h"

#include <gtest/gtest.h>

namespace crix::streaming::ws {
namespace {

std::string bytes(const char* s, size_t n) {
  return std::string(s, n);
}

TEST(WebSocket, AcceptKeyFromTheRfc) {
  EXPECT_EQ(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, RfcExamples) {
  // A single-frame unmasked text message, as a server sends it.
  EXPECT_EQ(encode(Op::Text, "Hello"), bytes("\x81\x05\x48\x65\x6c\x6c\x6f", 7));
  // The same, masked with 37 fa 21 3d, as a client sends it.
  std::string masked = bytes("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  EXPECT_EQ(encode(Op::Text, "Hello", 0x37fa213d), masked);
  size_t used = 0;
  auto f = parse(masked, used, true);
  ASSERT_TRUE(f && *f);
  EXPECT_EQ(used, 11u);
  EXPECT_EQ((*f)->payload, "Hello");
  EXPECT_TRUE((*f)->fin);
  // A fragmented unmasked text message: "Hel", then "lo".
  auto first = parse(bytes("\x01\x03\x48\x65\x6c", 5), used, false);
  ASSERT_TRUE(first && *first);
  EXPECT_FALSE((*first)->fin);
  EXPECT_EQ((*first)->op, Op::Text);
  auto second = parse(bytes("\x80\x02\x6c\x6f", 4), used, false);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->op, Op::Continuation);
  // A 256-byte binary message uses the 16-bit length.
  std::string big(256, 'x');
  std::string frame = encode(Op::Binary, big);
  EXPECT_EQ(frame.substr(0, 4), bytes("\x82\x7e\x01\x00", 4));
  // 64 KiB uses the 64-bit length.
  std::string huge(65536, 'y');
  EXPECT_EQ(encode(Op::Binary, huge).substr(0, 10), bytes("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  auto back = parse(encode(Op::Binary, huge, 0x01020304), used, true);
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->payload, huge);
}

TEST(WebSocket, WaitsForAWholeFrame) {
  std::string frame = encode(Op::Binary, std::string(300, 'z'), 0xdeadbeef);
  for (size_t n = 0; n < frame.size(); n += 7) {
    size_t used = 1;
    auto r = parse(std::string_view(frame).substr(0, n), used, true);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
  }
}

TEST(WebSocket, RefusesMalformedFrames) {
  struct Case {
    const char* name;
    std::string wire;
  };
  std::vector<Case> cases = {
      {"reserved bit", bytes("\xc1\x80\x00\x00\x00\x00", 6)},
      {"unknown opcode", bytes("\x83\x80\x00\x00\x00\x00", 6)},
      {"unmasked client frame", bytes("\x81\x01x", 3)},
      {"control frame over 125 bytes", bytes("\x89\xfe\x00\x7e\x00\x00\x00\x00", 8)},
      {"fragmented ping", bytes("\x09\x80\x00\x00\x00\x00", 6)},
      {"64-bit length with the top bit", bytes("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10)},
      {"frame over the message cap", bytes("\x82\xff\x00\x00\x00\x00\x10\x00\x00\x00", 10)},
  };
  for (const auto& c : cases) {
    size_t used = 0;
    EXPECT_FALSE(parse(c.wire, used, true)) << c.name;
  }
}

}  // namespace
}  // namespace crix::streaming::ws
