// SPDY/3.1 framing, as the kubelet's clients (client-go over moby/spdystream)
// speak it after an HTTP upgrade to "SPDY/3.1".
//
// Every frame starts with 8 bytes:
//
//   control: 1 | version(15) = 3 | type(16) | flags(8) | length(24)
//   data:    0 | stream id(31)              | flags(8) | length(24)
//
// SYN_STREAM, SYN_REPLY and HEADERS carry a header block: a count, then
// length-prefixed lowercase names and values (several values of one name
// separated by NUL), all 32-bit big-endian, compressed with one zlib stream
// per direction that lives as long as the connection and starts from
// kHeaderDictionary. So a Codec holds state: use one per connection.
//
// Flow control: the SPDY/3.1 window frames are parsed, but nothing waits on
// them. client-go's SPDY library neither sends WINDOW_UPDATE nor honours
// one, so a window enforced here would stall every transfer after 64 KiB;
// back-pressure comes from TCP instead (writes block while the peer reads
// slowly).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace crix::streaming::spdy {

extern const std::string_view kHeaderDictionary;

enum class Type : uint16_t {
  Data = 0,
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;
inline constexpr uint8_t kFlagUnidirectional = 0x02;
inline constexpr size_t kFrameHeaderSize = 8;
// A frame's length field has 24 bits; header blocks are capped far lower,
// before and after decompression.
inline constexpr size_t kMaxFrameLength = (1u << 24) - 1;
inline constexpr size_t kMaxHeaderBlock = 64 << 10;
inline constexpr uint32_t kMaxHeaderPairs = 256;

// RST_STREAM status codes.
enum class Rst : uint32_t { ProtocolError = 1, InvalidStream = 2, RefusedStream = 3, Cancel = 5, InternalError = 6 };

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Frame {
  Type type = Type::Data;
  uint8_t flags = 0;
  uint32_t streamId = 0;
  uint32_t associatedId = 0;  // SYN_STREAM
  uint32_t value = 0;         // RST_STREAM and GOAWAY status, PING id, WINDOW_UPDATE delta
  std::string data;           // DATA payload
  Headers headers;            // SYN_STREAM, SYN_REPLY, HEADERS

  bool fin() const { return (flags & kFlagFin) != 0; }
  // The first value of a header, or "".
  std::string header(std::string_view name) const;
};

class Codec {
 public:
  Codec();
  ~Codec();
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  // Reads the frame at the front of `in`. Returns nothing while `in` holds
  // less than a whole frame; sets `used` to the bytes consumed. Malformed
  // input (a bad version, an oversized or truncated header block, an
  // uppercase or duplicate header name, a zero stream id where one is
  // required) is an error, after which the connection must be dropped: the
  // shared zlib stream is no longer in step.
  Result<std::optional<Frame>> parse(std::string_view in, size_t& used);

  std::string data(uint32_t stream, std::string_view payload, bool fin);
  std::string synStream(uint32_t stream, const Headers& headers, bool fin);
  std::string synReply(uint32_t stream, const Headers& headers, bool fin);
  std::string rstStream(uint32_t stream, Rst status);
  std::string ping(uint32_t id);
  std::string goAway(uint32_t lastGoodStream, uint32_t status);
  std::string windowUpdate(uint32_t stream, uint32_t delta);

 private:
  Result<Headers> decodeHeaders(std::string_view compressed);
  std::string encodeHeaders(const Headers& headers);

  z_stream deflate_{};
  z_stream inflate_{};
  bool deflateReady_ = false;
  bool inflateReady_ = false;
};

}  // namespace crix::streaming::spdy
