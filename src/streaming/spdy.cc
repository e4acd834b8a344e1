#include "streaming/spdy.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace crix::streaming::spdy {
namespace {

constexpr uint16_t kVersion = 3;

uint32_t get32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

std::string controlFrame(Type type, uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  put32(out, 0x80000000u | uint32_t{kVersion} << 16 | static_cast<uint16_t>(type));
  put32(out, uint32_t{flags} << 24 | static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

Result<> protocolError(const std::string& what) {
  return fail(Code::InvalidArgument, "spdy: " + what);
}

// The payload size each fixed-size control frame must have.
std::optional<size_t> fixedLength(Type t) {
  switch (t) {
    case Type::RstStream:
    case Type::GoAway:
    case Type::WindowUpdate: return 8;
    case Type::Ping: return 4;
    default: return std::nullopt;
  }
}

}  // namespace

std::string Frame::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v.substr(0, v.find('\0'));
  return "";
}

Codec::Codec() {
  deflateReady_ = deflateInit(&deflate_, Z_BEST_COMPRESSION) == Z_OK &&
                  deflateSetDictionary(&deflate_, reinterpret_cast<const Bytef*>(kHeaderDictionary.data()),
                                       static_cast<uInt>(kHeaderDictionary.size())) == Z_OK;
  inflateReady_ = inflateInit(&inflate_) == Z_OK;
}

Codec::~Codec() {
  deflateEnd(&deflate_);
  inflateEnd(&inflate_);
}

Result<std::optional<Frame>> Codec::parse(std::string_view in, size_t& used) {
  used = 0;
  if (in.size() < kFrameHeaderSize) return std::optional<Frame>();
  uint32_t first = get32(in, 0), second = get32(in, 4);
  size_t length = second & 0xffffff;
  if (in.size() < kFrameHeaderSize + length) return std::optional<Frame>();
  std::string_view body = in.substr(kFrameHeaderSize, length);
  used = kFrameHeaderSize + length;

  Frame f;
  f.flags = static_cast<uint8_t>(second >> 24);
  if ((first & 0x80000000u) == 0) {
    f.type = Type::Data;
    f.streamId = first & 0x7fffffff;
    if (f.streamId == 0) TRY(protocolError("data frame on stream 0"));
    f.data.assign(body);
    return std::optional<Frame>(std::move(f));
  }

  uint16_t version = static_cast<uint16_t>((first >> 16) & 0x7fff);
  if (version != kVersion) TRY(protocolError("unsupported version " + std::to_string(version)));
  f.type = static_cast<Type>(first & 0xffff);
  if (auto want = fixedLength(f.type); want && length != *want)
    TRY(protocolError("control frame type " + std::to_string(first & 0xffff) + " has length " +
                      std::to_string(length)));
  switch (f.type) {
    case Type::SynStream:
      if (length < 10) TRY(protocolError("short SYN_STREAM"));
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.associatedId = get32(body, 4) & 0x7fffffff;
      f.headers = TRY(decodeHeaders(body.substr(10)));
      break;
    case Type::SynReply:
    case Type::Headers:
      if (length < 4) TRY(protocolError("short SYN_REPLY or HEADERS"));
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.headers = TRY(decodeHeaders(body.substr(4)));
      break;
    case Type::RstStream:
    case Type::WindowUpdate:
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.value = get32(body, 4) & (f.type == Type::WindowUpdate ? 0x7fffffffu : 0xffffffffu);
      break;
    case Type::GoAway:
      f.streamId = get32(body, 0) & 0x7fffffff;  // the last good stream
      f.value = get32(body, 4);
      break;
    case Type::Ping: f.value = get32(body, 0); break;
    case Type::Settings: break;  // nothing here depends on the peer's settings
    default:
      // Unknown control frames are to be ignored (draft 3, 2.2.1).
      break;
  }
  bool needsStream =
      f.type == Type::SynStream || f.type == Type::SynReply || f.type == Type::Headers || f.type == Type::RstStream;
  if (needsStream && f.streamId == 0) TRY(protocolError("stream id 0"));
  return std::optional<Frame>(std::move(f));
}

Result<Headers> Codec::decodeHeaders(std::string_view compressed) {
  if (!inflateReady_) return fail(Code::Internal, "spdy: zlib inflate unavailable");
  if (compressed.size() > kMaxHeaderBlock) return fail(Code::InvalidArgument, "spdy: header block too large");
  std::string plain;
  char buf[4096];
  inflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  inflate_.avail_in = static_cast<uInt>(compressed.size());
  // Inflate until the input is used up and zlib has no more output for it.
  for (;;) {
    inflate_.next_out = reinterpret_cast<Bytef*>(buf);
    inflate_.avail_out = sizeof buf;
    int rc = inflate(&inflate_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      rc = inflateSetDictionary(&inflate_, reinterpret_cast<const Bytef*>(kHeaderDictionary.data()),
                                static_cast<uInt>(kHeaderDictionary.size()));
      if (rc != Z_OK) return fail(Code::InvalidArgument, "spdy: header block wants another dictionary");
      continue;
    }
    plain.append(buf, sizeof buf - inflate_.avail_out);
    if (plain.size() > kMaxHeaderBlock) return fail(Code::InvalidArgument, "spdy: header block too large");
    if (rc == Z_BUF_ERROR && inflate_.avail_in == 0) break;  // all input consumed
    if (rc != Z_OK) return fail(Code::InvalidArgument, "spdy: corrupt header block");
    if (inflate_.avail_in == 0 && inflate_.avail_out != 0) break;
  }

  auto need = [&](size_t at, size_t n) { return at + n <= plain.size(); };
  if (!need(0, 4)) return fail(Code::InvalidArgument, "spdy: truncated header block");
  uint32_t count = get32(plain, 0);
  if (count > kMaxHeaderPairs) return fail(Code::InvalidArgument, "spdy: too many headers");
  Headers headers;
  std::set<std::string> seen;
  size_t at = 4;
  for (uint32_t i = 0; i < count; ++i) {
    std::string field[2];
    for (auto& s : field) {
      if (!need(at, 4)) return fail(Code::InvalidArgument, "spdy: truncated header block");
      uint32_t len = get32(plain, at);
      at += 4;
      if (!need(at, len)) return fail(Code::InvalidArgument, "spdy: header length beyond its block");
      s.assign(plain, at, len);
      at += len;
    }
    if (field[0].empty()) return fail(Code::InvalidArgument, "spdy: empty header name");
    if (std::any_of(field[0].begin(), field[0].end(),
                    [](char c) { return std::isupper(static_cast<unsigned char>(c)); }))
      return fail(Code::InvalidArgument, "spdy: header name not lowercase: " + field[0]);
    if (!seen.insert(field[0]).second) return fail(Code::InvalidArgument, "spdy: duplicate header " + field[0]);
    headers.emplace_back(std::move(field[0]), std::move(field[1]));
  }
  if (at != plain.size()) return fail(Code::InvalidArgument, "spdy: trailing bytes in header block");
  return headers;
}

std::string Codec::encodeHeaders(const Headers& headers) {
  std::string plain;
  put32(plain, static_cast<uint32_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    put32(plain, static_cast<uint32_t>(k.size()));
    plain += k;
    put32(plain, static_cast<uint32_t>(v.size()));
    plain += v;
  }
  std::string out;
  if (!deflateReady_) return out;
  char buf[4096];
  deflate_.next_in = reinterpret_cast<Bytef*>(plain.data());
  deflate_.avail_in = static_cast<uInt>(plain.size());
  do {
    deflate_.next_out = reinterpret_cast<Bytef*>(buf);
    deflate_.avail_out = sizeof buf;
    deflate(&deflate_, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - deflate_.avail_out);
  } while (deflate_.avail_out == 0);
  return out;
}

std::string Codec::data(uint32_t stream, std::string_view payload, bool fin) {
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  put32(out, stream & 0x7fffffff);
  put32(out, uint32_t{fin ? kFlagFin : uint8_t{0}} << 24 | static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

std::string Codec::synStream(uint32_t stream, const Headers& headers, bool fin) {
  std::string body;
  put32(body, stream);
  put32(body, 0);  // associated stream
  body += '\0';    // priority
  body += '\0';    // slot
  body += encodeHeaders(headers);
  return controlFrame(Type::SynStream, fin ? kFlagFin : 0, body);
}

std::string Codec::synReply(uint32_t stream, const Headers& headers, bool fin) {
  std::string body;
  put32(body, stream);
  body += encodeHeaders(headers);
  return controlFrame(Type::SynReply, fin ? kFlagFin : 0, body);
}

std::string Codec::rstStream(uint32_t stream, Rst status) {
  std::string body;
  put32(body, stream);
  put32(body, static_cast<uint32_t>(status));
  return controlFrame(Type::RstStream, 0, body);
}

std::string Codec::ping(uint32_t id) {
  std::string body;
  put32(body, id);
  return controlFrame(Type::Ping, 0, body);
}

std::string Codec::goAway(uint32_t lastGoodStream, uint32_t status) {
  std::string body;
  put32(body, lastGoodStream);
  put32(body, status);
  return controlFrame(Type::GoAway, 0, body);
}

std::string Codec::windowUpdate(uint32_t stream, uint32_t delta) {
  std::string body;
  put32(body, stream);
  put32(body, delta);
  return controlFrame(Type::WindowUpdate, 0, body);
}

}  // namespace crix::streaming::spdy
