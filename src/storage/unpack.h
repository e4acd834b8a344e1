// Unpacking one layer's tar stream into a directory, in the form overlayfs
// reads as a lower layer:
//   .wh.<name>       → a 0/0 character device <name> (a whiteout)
//   .wh..wh..opq     → xattr trusted.overlay.opaque=y on its directory
//
// Hostile input is refused with InvalidArgument and touches nothing outside
// the target directory: entry names and hard-link targets that are absolute
// or contain "..", and any entry whose parent path resolves outside the
// target (every parent is opened with openat2 RESOLVE_BENEATH, so a symlink
// planted earlier in the layer cannot redirect a later write).
#pragma once

#include <cstdint>

#include "common/error.h"
#include "storage/layer_stream.h"

namespace crix::storage {

struct UnpackOptions {
  bool allowDevices = true;  // block and character devices other than whiteouts
};

struct UnpackStats {
  int64_t entries = 0;
  int64_t bytes = 0;  // regular file contents written
};

// Unpacks into the directory open at `rootFd`.
Result<UnpackStats> unpackLayer(int rootFd, LayerStream& stream, const UnpackOptions& opts = {});

}  // namespace crix::storage
