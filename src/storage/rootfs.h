// Container root filesystems: the image's layers under a writable layer,
// mounted with overlayfs, in <root>/containers/<id>/ (common/paths.h draws
// it): upper/, work/ and merged/; while mounting for a pod with a user
// namespace, idmapped/<n>, each layer mounted idmapped through it (gone
// once the overlay holds them); while the runtime creates a container of
// such a pod, volume-maps/<n>, its volumes idmapped (gone once the
// container holds them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/paths.h"

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
Result<std::string> mountRootfs(const Paths& paths, const std::string& id, const std::vector<std::string>& lowers,
                                const IdMappedLayers* idmap = nullptr);
// Mounts a clone of `source` (a directory or a file, with whatever is
// mounted below it) at `at`, seen through the user namespace pinned at
// `usernsPath`: files the host's root owns are the container root's, and
// what the container's root writes is the host root's on disk.
Result<> mountIdMapped(const std::string& source, const std::string& at, const std::string& usernsPath);

// Mounts image volume `n` of container `id` read-only: `lowers` (an
// image's diff dirs, top first) as an overlay with no writable layer, or
// the one layer bound read-only. Returns where (volume-images/<n>).
Result<std::string> mountVolumeImage(const Paths& paths, const std::string& id, size_t n,
                                     const std::vector<std::string>& lowers);

// Unmounts and removes what only the runtime's create needs: the
// container's volume-maps/ and volume-images/; fine when absent.
Result<> dropCreateMounts(const Paths& paths, const std::string& id);

// Unmounts it; fine when not mounted.
Result<> unmountRootfs(const Paths& paths, const std::string& id);
// Unmounts and deletes the container's directory.
Result<> removeContainerDir(const Paths& paths, const std::string& id);

}  // namespace crix::storage
