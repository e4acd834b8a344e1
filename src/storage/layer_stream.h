// LayerStream: the uncompressed bytes of a layer blob, hashed as they are
// read so that the layer's diff ID is checked without a second pass.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"

namespace crix::storage {

enum class Compression { None, Gzip, Zstd };

class LayerStream {
 public:
  // Opens a compressed blob file. `maxBytes` caps the uncompressed size.
  static Result<std::unique_ptr<LayerStream>> open(const std::string& path, Compression c, int64_t maxBytes);
  virtual ~LayerStream() = default;

  // Fills up to n bytes; 0 at the end of the stream.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  // Reads to the end, then returns "sha256:<hex>" of everything read.
  virtual Result<std::string> finish() = 0;
  virtual int64_t total() const = 0;
};

}  // namespace crix::storage
