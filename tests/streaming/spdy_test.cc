// SPDY/3.1 framing against byte sequences from the protocol's definition
// and from an independent zlib (Python's, with the spec's dictionary).
#include "streaming/spdy.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace crix::streaming::spdy {
namespace {

std::string bytes(const char* s, size_t n) {
  return std::string(s, n);
}

// Two SYN_STREAMs (ids 1 and 3, streamtype error and stdout) as a client
// compresses them: one zlib stream across both header blocks.
const std::string kTwoSynStreams = bytes(
    "\x80\x03\x00\x01\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x78\xf9\xe3\xc6\xa7\xc2\x02\xa6\x23"
    "\x46\x70\x3a\x2b\x29\x4a\x4d\xcc\x85\x16\x25\xac\xa9\xa0\x80\x06\x00\x00\x00\xff\xff\x80\x03\x00\x01\x00\x00"
    "\x00\x19\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\xc2\x2a\x05\x4c\xcc\x29\xf9\xa5\x25\x00\x00\x00\x00\xff\xff",
    81);

Frame parseOne(Codec& c, std::string_view in, size_t* usedOut = nullptr) {
  size_t used = 0;
  auto r = c.parse(in, used);
  EXPECT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r && *r);
  if (usedOut) *usedOut = used;
  return r && *r ? **r : Frame{};
}

TEST(SpdyDictionary, IsTheSpecsDictionary) {
  EXPECT_EQ(kHeaderDictionary.size(), 1423u);
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(kHeaderDictionary.data()), kHeaderDictionary.size()),
            0xe3c6a7c2u);
}

TEST(SpdyCodec, ParsesSynStreamsSharingOneZlibStream) {
  Codec c;
  size_t used = 0;
  Frame a = parseOne(c, kTwoSynStreams, &used);
  EXPECT_EQ(used, 48u);
  EXPECT_EQ(a.type, Type::SynStream);
  EXPECT_EQ(a.streamId, 1u);
  EXPECT_EQ(a.header("streamtype"), "error");
  Frame b = parseOne(c, std::string_view(kTwoSynStreams).substr(used));
  EXPECT_EQ(b.streamId, 3u);
  EXPECT_EQ(b.header("streamtype"), "stdout");
}

TEST(SpdyCodec, WaitsForAWholeFrame) {
  Codec c;
  for (size_t n : {0, 5, 8, 47}) {
    size_t used = 99;
    auto r = c.parse(std::string_view(kTwoSynStreams).substr(0, n), used);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r) << n;
    EXPECT_EQ(used, 0u);
  }
}

TEST(SpdyCodec, EncodesFixedFramesAsTheSpecLaysThemOut) {
  Codec c;
  EXPECT_EQ(c.data(5, "hi", true), bytes("\x00\x00\x00\x05\x01\x00\x00\x02hi", 10));
  EXPECT_EQ(c.data(7, "", false), bytes("\x00\x00\x00\x07\x00\x00\x00\x00", 8));
  EXPECT_EQ(c.ping(2), bytes("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x02", 12));
  EXPECT_EQ(c.rstStream(3, Rst::Cancel), bytes("\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x05", 16));
  EXPECT_EQ(c.goAway(9, 0), bytes("\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x09\x00\x00\x00\x00", 16));
  EXPECT_EQ(c.windowUpdate(1, 65536), bytes("\x80\x03\x00\x09\x00\x00\x00\x08\x00\x00\x00\x01\x00\x01\x00\x00", 16));
}

TEST(SpdyCodec, RoundTripsEveryFrameType) {
  Codec client, server;
  // One statement per frame: the header blocks share a zlib stream, so
  // they must be compressed in wire order.
  std::string wire = client.synStream(1, {{"streamtype", "data"}, {"port", "80"}, {"requestid", "0"}}, false);
  wire += client.data(1, "payload", true);
  wire += client.ping(1);
  wire += client.rstStream(1, Rst::Cancel);
  wire += client.windowUpdate(1, 100);
  wire += client.goAway(1, 0);
  wire += client.synReply(3, {{"a", std::string("x\0y", 3)}}, true);
  std::vector<Frame> frames;
  std::string_view rest = wire;
  while (!rest.empty()) {
    size_t used = 0;
    frames.push_back(parseOne(server, rest, &used));
    ASSERT_GT(used, 0u);
    rest.remove_prefix(used);
  }
  ASSERT_EQ(frames.size(), 7u);
  EXPECT_EQ(frames[0].header("port"), "80");
  EXPECT_EQ(frames[0].header("requestid"), "0");
  EXPECT_EQ(frames[1].data, "payload");
  EXPECT_TRUE(frames[1].fin());
  EXPECT_EQ(frames[2].type, Type::Ping);
  EXPECT_EQ(frames[2].value, 1u);
  EXPECT_EQ(frames[3].value, static_cast<uint32_t>(Rst::Cancel));
  EXPECT_EQ(frames[4].value, 100u);
  EXPECT_EQ(frames[5].type, Type::GoAway);
  EXPECT_EQ(frames[6].type, Type::SynReply);
  EXPECT_EQ(frames[6].header("a"), "x");  // the first of several values
  EXPECT_TRUE(frames[6].fin());
}

// Frames an attacker could send: each is refused with an error, never a crash.
TEST(SpdyCodec, RefusesMalformedFrames) {
  struct Case {
    const char* name;
    std::string wire;
  };
  Codec enc;
  std::string upper = enc.synStream(1, {{"StreamType", "error"}}, false);
  Codec enc2;
  std::string dup = enc2.synStream(1, {{"a", "1"}, {"a", "2"}}, false);
  std::vector<Case> cases = {
      {"version 2", bytes("\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12)},
      {"ping of 3 bytes", bytes("\x80\x03\x00\x06\x00\x00\x00\x03\x00\x00\x01", 11)},
      {"rst of 4 bytes", bytes("\x80\x03\x00\x03\x00\x00\x00\x04\x00\x00\x00\x01", 12)},
      {"data on stream 0", bytes("\x00\x00\x00\x00\x00\x00\x00\x01x", 9)},
      {"short syn_stream", bytes("\x80\x03\x00\x01\x00\x00\x00\x04\x00\x00\x00\x01", 12)},
      {"syn_stream on stream 0", bytes("\x80\x03\x00\x01\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 18)},
      {"header block not zlib", bytes("\x80\x03\x00\x02\x00\x00\x00\x08\x00\x00\x00\x01garb", 16)},
      {"uppercase header name", upper},
      {"duplicate header", dup},
  };
  for (const auto& c : cases) {
    Codec dec;
    size_t used = 0;
    auto r = dec.parse(c.wire, used);
    EXPECT_FALSE(r) << c.name;
  }
}

TEST(SpdyCodec, RefusesHeaderBlocksThatLieAboutTheirLengths) {
  // A block that claims a name longer than itself, compressed properly.
  std::string plain = bytes(
      "\x00\x00\x00\x01\x00\x00\x10\x00"
      "ab",
      10);  // "ab" apart: \x00ab would be one escape
  z_stream z{};
  deflateInit(&z, Z_DEFAULT_COMPRESSION);
  deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(kHeaderDictionary.data()), kHeaderDictionary.size());
  char out[256];
  z.next_in = reinterpret_cast<Bytef*>(plain.data());
  z.avail_in = plain.size();
  z.next_out = reinterpret_cast<Bytef*>(out);
  z.avail_out = sizeof out;
  deflate(&z, Z_SYNC_FLUSH);
  std::string block(out, sizeof out - z.avail_out);
  deflateEnd(&z);
  std::string body = bytes("\x00\x00\x00\x01", 4) + block;
  std::string frame = bytes("\x80\x03\x00\x02\x00\x00\x00", 7) + static_cast<char>(body.size()) + body;
  Codec dec;
  size_t used = 0;
  auto r = dec.parse(frame, used);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("beyond"), std::string::npos) << r.error().message();
}

TEST(SpdyCodec, RefusesAHeaderBombBeyondTheCap) {
  // Far more than kMaxHeaderBlock of zeros compresses to a few hundred bytes.
  Codec enc;
  std::string huge(kMaxHeaderBlock * 4, 'a');
  std::string frame = enc.synReply(1, {{"x", huge}}, false);
  Codec dec;
  size_t used = 0;
  auto r = dec.parse(frame, used);
  EXPECT_FALSE(r);
}

TEST(SpdyCodec, SkipsUnknownControlFrames) {
  Codec c;
  size_t used = 0;
  auto r = c.parse(bytes("\x80\x03\x00\x0f\x00\x00\x00\x02zz", 10), used);
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ(used, 10u);
}

}  // namespace
}  // namespace crix::streaming::spdy
