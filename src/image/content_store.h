// Content-addressed blobs (manifests, configs, compressed layers), in
// <root>/content/ (common/paths.h draws it): sha256/<hex> are committed
// blobs, read-only once written; ingest/ holds blobs being written and is
// emptied at start-up.
//
// A blob becomes visible only after its bytes were hashed, matched the
// expected digest and size, were fsynced and renamed into place: nothing
// partial is ever visible under sha256/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/paths.h"
#include "image/digest.h"
#include "sys/unique_fd.h"

namespace crix::image {

class ContentStore {
 public:
  // Creates the directories and removes leftovers of interrupted writes.
  static Result<std::unique_ptr<ContentStore>> open(Paths paths);

  std::string path(const std::string& digest) const;
  // The layout these blobs live in.
  const Paths& paths() const { return paths_; }
  bool has(const std::string& digest) const;
  Result<std::string> read(const std::string& digest) const;
  Result<> remove(const std::string& digest);
  // Bytes used by committed blobs.
  int64_t usage() const;

  class Writer {
   public:
    ~Writer();
    Result<> write(const char* data, size_t n);
    // Checks digest and size, fsyncs and renames into place.
    Result<> commit();
    int64_t written() const { return written_; }

   private:
    friend class ContentStore;
    Writer(std::string tmp, std::string final, std::string digest, int64_t size, sys::UniqueFd fd)
        : tmp_(std::move(tmp)), final_(std::move(final)), digest_(std::move(digest)), size_(size), fd_(std::move(fd)) {}
    std::string tmp_, final_, digest_;
    int64_t size_;  // -1: unknown
    int64_t written_ = 0;
    sys::UniqueFd fd_;
    Sha256 hash_;
    bool committed_ = false;
  };
  // size -1 when the expected size is unknown.
  Result<std::unique_ptr<Writer>> writer(const std::string& digest, int64_t size);
  Result<> put(const std::string& digest, std::string_view data);

 private:
  explicit ContentStore(Paths paths) : paths_(std::move(paths)) {}
  Paths paths_;
};

}  // namespace crix::image
