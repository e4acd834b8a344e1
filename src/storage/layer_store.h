// Unpacked image layers, shared by every image that has them, in
// <root>/layers/ (common/paths.h draws it): <chain-hex>/diff and size, and
// tmp-* scratch of unpacks and removals, removed at start-up.
//
// A layer directory appears (by rename) only once its tar was unpacked
// completely and its diff ID checked, so a present <chain-hex> is whole.
// Which layers exist in the database is the image layer's business; this
// store keeps the directories and can sweep those nobody records. Removed
// layers are deleted on threads the store owns; its destructor waits for them.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "common/error.h"
#include "common/paths.h"
#include "common/thread_set.h"
#include "storage/layer_stream.h"
#include "storage/unpack.h"

namespace crix::storage {

class LayerStore {
 public:
  static Result<std::unique_ptr<LayerStore>> open(Paths paths, int64_t maxLayerBytes, UnpackOptions opts);

  const Paths& paths() const { return paths_; }
  std::string diffPath(const std::string& chainId) const;
  bool has(const std::string& chainId) const;
  // The on-disk bytes recorded when the layer was committed; 0 when the
  // layer is absent or its size file is missing or not a number.
  int64_t recordedSize(const std::string& chainId) const;

  struct Applied {
    int64_t size = 0;  // on-disk bytes
    int64_t uncompressed = 0;
  };
  // Unpacks the blob at `blobPath` as layer `chainId`, checking that its
  // uncompressed stream hashes to `diffId`. Present layers are kept as they are.
  Result<Applied> apply(const std::string& chainId, const std::string& diffId, const std::string& blobPath,
                        Compression compression);

  Result<> remove(const std::string& chainId);
  // Removes layer directories whose chain IDs are not in `keep`; returns how many.
  int sweep(const std::set<std::string>& keep);
  int64_t usage() const;

 private:
  LayerStore(Paths paths, int64_t max, UnpackOptions opts) : paths_(std::move(paths)), max_(max), opts_(opts) {}
  Paths paths_;
  int64_t max_;
  UnpackOptions opts_;
  ThreadSet deletions_;  // removed layers' files going in the background
};

// Bytes and inodes used under a directory tree (not following symlinks).
struct DiskUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
};
DiskUsage diskUsage(const std::string& path);

}  // namespace crix::storage
