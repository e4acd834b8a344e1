// Copy-up of an image's declared volume: what the image holds at the
// volume's path is copied into the fresh volume directory, with owners,
// modes and times kept (as Docker and containerd do), so that a VOLUME over
// a populated directory does not hide its files.
//
// The image is untrusted: the path is resolved inside the rootfs (an
// absolute symlink means the rootfs's /, never the host's), no entry is
// followed while copying (symlinks are copied as symlinks), and device
// nodes and sockets are left out.
#pragma once

#include <string>

#include "common/error.h"

namespace crix::storage {

// Copies the tree at `path` (absolute, inside the container) of `rootfs`
// into the existing directory `dest`, and gives `dest` the owner and mode
// of the image's directory. Nothing to copy when the image has no
// directory there. Depth is capped at 256 directories.
Result<> copyUp(const std::string& rootfs, const std::string& path, const std::string& dest);

}  // namespace crix::storage
