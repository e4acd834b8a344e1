#include "storage/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::storage {

namespace {

// Mounts a clone of `source` (with what is mounted below it when
// `recursive`) at `at`, seen through the user namespace open as `userns`:
// ids are shifted by its mappings. The source itself is untouched.
Result<> mountIdMappedFd(const std::string& source, const std::string& at, int userns, bool recursive) {
  unsigned cloneFlags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  sys::UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), cloneFlags));
  if (!tree.valid()) return failErrno("clone mount of " + source, errno);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0)
    return failErrno("idmap " + source + " (the kernel needs idmapped mounts for its filesystem)", errno);
  // The mount point is of the source's kind: a directory, or a file.
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return failErrno("stat " + source, errno);
  if (S_ISDIR(st.st_mode)) {
    TRY(sys::mkdirAll(at, 0700));
  } else {
    TRY(sys::mkdirAll(std::filesystem::path(at).parent_path().string(), 0700));
    sys::UniqueFd file(::open(at.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!file.valid()) return failErrno("create mount point " + at, errno);
  }
  if (::move_mount(tree.get(), "", AT_FDCWD, at.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return failErrno("mount idmapped " + source + " at " + at, errno);
  return {};
}

// The runtime mounts the rootfs as the container's root, an unprivileged
// host user: every directory above it must let others through.
Result<> checkSearchable(const std::string& dir) {
  for (auto p = std::filesystem::path(dir); p.has_relative_path(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return failErrno("stat " + p.string(), errno);
    if (!(st.st_mode & S_IXOTH))
      return fail(Code::FailedPrecondition,
                  "a pod with its own user namespace needs every directory above its containers searchable by "
                  "others, and " +
                      p.string() + " is not (chmod o+x)");
  }
  return {};
}

// Unmounts every entry of `dir` (idmapped copies that something else now
// holds), then removes it: only plain files and directories of crix's own
// are left by then, so the removal never reaches through a mount.
Result<> dropMountedEntries(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (::umount2(e.path().c_str(), MNT_DETACH) != 0 && errno != EINVAL)
      return failErrno("unmount " + e.path().string(), errno);
  std::filesystem::remove_all(dir, ec);
  if (ec) return fail(Code::Internal, "remove " + dir + ": " + ec.message());
  return {};
}

// The idmapped layers' mount points: the overlay keeps its own references.
void dropIdMapped(const std::string& dir) {
  (void)dropMountedEntries(dir);
}

}  // namespace

Result<std::string> mountRootfs(const Paths& paths, const std::string& id, const std::vector<std::string>& lowers,
                                const IdMappedLayers* idmap) {
  if (lowers.empty()) return fail(Code::InvalidArgument, "container " + id + ": image has no layers");
  std::string dir = paths.containerDir(id), upper = paths.containerUpper(id), work = paths.containerWork(id),
              merged = paths.containerRootfs(id);
  for (const auto& sub : {upper, work, merged}) TRY(sys::mkdirAll(sub, 0755));
  std::vector<std::string> layers = lowers;
  std::string mapped = paths.containerIdMapped(id);
  if (idmap) {
    TRY(checkSearchable(dir));
    sys::UniqueFd userns(::open(idmap->usernsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns.valid()) return failErrno("open user namespace " + idmap->usernsPath, errno);
    for (size_t i = 0; i < layers.size(); ++i) {
      std::string at = paths.containerIdMappedLayer(id, i);
      if (auto r = mountIdMappedFd(lowers[i], at, userns.get(), false); !r) {
        dropIdMapped(mapped);
        return fail(r.error());
      }
      layers[i] = at;
    }
    if (::chown(upper.c_str(), idmap->rootUid, idmap->rootGid) != 0) {
      int err = errno;
      dropIdMapped(mapped);
      return failErrno("give the writable layer of " + id + " to the container's root", err);
    }
  }
  std::string lower;
  for (const auto& l : layers) lower += (lower.empty() ? "" : ":") + l;
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  int err = 0;
  if (opts.size() > 4000)
    err = E2BIG;
  else if (::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0)
    err = errno;
  if (idmap) dropIdMapped(mapped);
  if (err == E2BIG)
    return fail(Code::ResourceExhausted, "container " + id + ": too many image layers for one overlay mount");
  if (err != 0) return failErrno("mount rootfs of " + id, err);
  return merged;
}

Result<> unmountRootfs(const Paths& paths, const std::string& id) {
  std::string merged = paths.containerRootfs(id);
  if (::umount2(merged.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return failErrno("unmount rootfs of " + id, errno);
  return {};
}

Result<> mountIdMapped(const std::string& source, const std::string& at, const std::string& usernsPath) {
  sys::UniqueFd userns(::open(usernsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!userns.valid()) return failErrno("open user namespace " + usernsPath, errno);
  return mountIdMappedFd(source, at, userns.get(), true);
}

Result<std::string> mountVolumeImage(const Paths& paths, const std::string& id, size_t n,
                                     const std::vector<std::string>& lowers) {
  if (lowers.empty()) return fail(Code::InvalidArgument, "image volume of " + id + ": the image has no layers");
  std::string at = paths.containerVolumeImage(id, n);
  TRY(sys::mkdirAll(at, 0755));
  if (lowers.size() == 1) {
    // overlayfs wants two lower layers when it has no upper one.
    if (::mount(lowers[0].c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return failErrno("bind image volume " + at, errno);
    if (::mount(nullptr, at.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
      int err = errno;
      (void)::umount2(at.c_str(), MNT_DETACH);
      return failErrno("make image volume " + at + " read-only", err);
    }
    return at;
  }
  std::string opts = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) opts += (i ? ":" : "") + lowers[i];
  if (opts.size() > 4000)
    return fail(Code::ResourceExhausted, "image volume of " + id + ": too many image layers for one overlay mount");
  if (::mount("overlay", at.c_str(), "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts.c_str()) != 0)
    return failErrno("mount image volume " + at, errno);
  return at;
}

Result<> dropCreateMounts(const Paths& paths, const std::string& id) {
  TRY(dropMountedEntries(paths.containerVolumeMaps(id)));
  return dropMountedEntries(paths.containerVolumeImages(id));
}

Result<> removeContainerDir(const Paths& paths, const std::string& id) {
  TRY(unmountRootfs(paths, id));
  // Never remove_all through a volume's idmapped mount (that would empty
  // the volume) or an image volume.
  TRY(dropCreateMounts(paths, id));
  std::error_code ec;
  std::filesystem::remove_all(paths.containerDir(id), ec);
  if (ec) return fail(Code::Internal, "remove container dir " + id + ": " + ec.message());
  return {};
}

}  // namespace crix::storage
