// Container root filesystems: the image's layers under a writable layer,
// mounted with overlayfs.
//
//   <root>/containers/<id>/
//     upper/    the container's writable layer
//     work/     overlayfs scratch
//     merged/   the mounted root filesystem
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace crix::storage {

// Mounts the rootfs of container `id`; `lowers` are diff dirs, top first.
// Returns the merged path.
Result<std::string> mountRootfs(const std::string& containersDir, const std::string& id,
                                const std::vector<std::string>& lowers);
// Unmounts it; fine when not mounted.
Result<> unmountRootfs(const std::string& containersDir, const std::string& id);
// Unmounts and deletes the container's directory.
Result<> removeContainerDir(const std::string& containersDir, const std::string& id);

}  // namespace crix::storage
