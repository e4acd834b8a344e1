#include "storage/layer_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "common/sha256.h"
#include "sys/unique_fd.h"

namespace crix::storage {
namespace {

constexpr size_t kInChunk = 256 << 10;

// Shared plumbing: the file, the input buffer, the hash and the size cap.
class StreamBase : public LayerStream {
 public:
  StreamBase(sys::UniqueFd fd, std::string path, int64_t maxBytes)
      : fd_(std::move(fd)), path_(std::move(path)), max_(maxBytes), in_(kInChunk) {}

  Result<size_t> read(char* buf, size_t n) override {
    size_t got = TRY(produce(buf, n));
    total_ += static_cast<int64_t>(got);
    if (max_ > 0 && total_ > max_)
      return fail(Code::ResourceExhausted,
                  "layer unpacks to more than the configured maximum of " + std::to_string(max_) + " bytes");
    hash_.update(buf, got);
    return got;
  }

  Result<std::string> finish() override {
    std::vector<char> sink(kInChunk);
    while (TRY(read(sink.data(), sink.size())) > 0) {
    }
    return hash_.digest();
  }

  int64_t total() const override { return total_; }

 protected:
  virtual Result<size_t> produce(char* buf, size_t n) = 0;

  // Refills in_ when it is used up; false at the end of the file.
  Result<bool> refill() {
    if (inPos_ < inLen_) return true;
    for (;;) {
      ssize_t r = ::read(fd_.get(), in_.data(), in_.size());
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return failErrno("read " + path_, errno);
      inPos_ = 0;
      inLen_ = static_cast<size_t>(r);
      return r > 0;
    }
  }

  sys::UniqueFd fd_;
  std::string path_;
  int64_t max_;
  std::vector<char> in_;
  size_t inPos_ = 0, inLen_ = 0;
  int64_t total_ = 0;
  Sha256 hash_;
};

class PlainStream final : public StreamBase {
 public:
  using StreamBase::StreamBase;

 protected:
  Result<size_t> produce(char* buf, size_t n) override {
    if (!TRY(refill())) return size_t{0};
    size_t take = std::min(n, inLen_ - inPos_);
    std::copy(in_.data() + inPos_, in_.data() + inPos_ + take, buf);
    inPos_ += take;
    return take;
  }
};

// gzip through ISA-L's inflate, several times faster than zlib here.
class GzipStream final : public StreamBase {
 public:
  GzipStream(sys::UniqueFd fd, std::string path, int64_t maxBytes)
      : StreamBase(std::move(fd), std::move(path), maxBytes) {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
  }

 protected:
  Result<size_t> produce(char* buf, size_t n) override {
    for (;;) {
      // ISA-L reports a member finished only once its output is drained.
      bool finished = state_.block_state == ISAL_BLOCK_FINISH;
      if (finished || state_.avail_in == 0) {
        uint8_t* next = state_.next_in;
        uint32_t avail = state_.avail_in;
        if (avail == 0) {
          if (!TRY(refill())) {
            if (finished) return size_t{0};
            return fail(Code::InvalidArgument, "gzip layer " + path_ + " is truncated");
          }
          next = reinterpret_cast<uint8_t*>(in_.data() + inPos_);
          avail = static_cast<uint32_t>(inLen_ - inPos_);
          inPos_ = inLen_;
        }
        if (finished) {
          // Zero padding after the last member (tar writers pad to their
          // block size) ends the stream; anything else must be another
          // gzip member.
          if (allZero(next, avail)) {
            state_.next_in = next + avail;
            state_.avail_in = 0;
            continue;
          }
          if (avail < 2 || next[0] != 0x1f || next[1] != 0x8b)
            return fail(Code::InvalidArgument, "gzip layer " + path_ + " has trailing garbage");
          isal_inflate_reset(&state_);
          state_.crc_flag = ISAL_GZIP;
        }
        state_.next_in = next;
        state_.avail_in = avail;
      }
      state_.next_out = reinterpret_cast<uint8_t*>(buf);
      state_.avail_out = static_cast<uint32_t>(n);
      int rc = isal_inflate(&state_);
      if (rc != ISAL_DECOMP_OK)
        return fail(Code::InvalidArgument,
                    "gzip layer " + path_ + " is corrupt (isa-l error " + std::to_string(rc) + ")");
      size_t produced = n - state_.avail_out;
      if (produced > 0) return produced;
    }
  }

 private:
  static bool allZero(const uint8_t* p, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
      if (p[i] != 0) return false;
    return true;
  }
  inflate_state state_{};
};

class ZstdStream final : public StreamBase {
 public:
  ZstdStream(sys::UniqueFd fd, std::string path, int64_t maxBytes)
      : StreamBase(std::move(fd), std::move(path), maxBytes), ctx_(ZSTD_createDStream()) {}
  ~ZstdStream() override { ZSTD_freeDStream(ctx_); }

 protected:
  Result<size_t> produce(char* buf, size_t n) override {
    for (;;) {
      if (input_.pos == input_.size) {
        if (!TRY(refill())) {
          if (!frameDone_) return fail(Code::InvalidArgument, "zstd layer " + path_ + " is truncated");
          return size_t{0};
        }
        input_ = {in_.data() + inPos_, inLen_ - inPos_, 0};
        inPos_ = inLen_;
      }
      ZSTD_outBuffer out{buf, n, 0};
      size_t rc = ZSTD_decompressStream(ctx_, &out, &input_);
      if (ZSTD_isError(rc))
        return fail(Code::InvalidArgument, "zstd layer " + path_ + " is corrupt: " + ZSTD_getErrorName(rc));
      frameDone_ = rc == 0;
      if (out.pos > 0) return out.pos;
    }
  }

 private:
  ZSTD_DStream* ctx_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool frameDone_ = true;
};

}  // namespace

Result<std::unique_ptr<LayerStream>> LayerStream::open(const std::string& path, Compression c, int64_t maxBytes) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return failErrno("open layer blob " + path, errno);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  switch (c) {
    case Compression::None: return std::unique_ptr<LayerStream>(new PlainStream(std::move(fd), path, maxBytes));
    case Compression::Gzip: return std::unique_ptr<LayerStream>(new GzipStream(std::move(fd), path, maxBytes));
    case Compression::Zstd: return std::unique_ptr<LayerStream>(new ZstdStream(std::move(fd), path, maxBytes));
  }
  return fail(Code::InvalidArgument, "unknown compression");
}

}  // namespace crix::storage
