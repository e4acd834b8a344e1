// Container root filesystems: the image's layers under a writable layer,
// mounted with overlayfs.
//
//   <root>/containers/<id>/
//     upper/    the container's writable layer
//     work/     overlayfs scratch
//     merged/   the mounted root filesystem
//     idmapped/ while mounting for a pod with a user namespace: each layer
//               mounted idmapped through it (gone once the overlay holds them)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::storage {

// For a pod with its own user namespace (pinned at `usernsPath`): the
// layers are seen through its mappings, so files the image gives to root
// belong to the container's root, and the writable layer belongs to the
// host ids that the container's root (uid and gid 0) maps to.
struct IdMappedLayers {
  std::string usernsPath;
  uint32_t rootUid = 0, rootGid = 0;
};

// Mounts the rootfs of container `id`; `lowers` are diff dirs, top first.
// Returns the merged path.
Result<std::string> mountRootfs(const std::string& containersDir, const std::string& id,
                                const std::vector<std::string>& lowers, const IdMappedLayers* idmap = nullptr);
// Unmounts it; fine when not mounted.
Result<> unmountRootfs(const std::string& containersDir, const std::string& id);
// Unmounts and deletes the container's directory.
Result<> removeContainerDir(const std::string& containersDir, const std::string& id);

}  // namespace crix::storage
