// Small file-system helpers over raw syscalls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/error.h"
#include "sys/unique_fd.h"

namespace crix::sys {

// mkdir -p with the given mode for every directory it creates.
Result<> mkdirAll(const std::string& path, mode_t mode = 0755);

// Reads a whole file.
Result<std::string> readFile(const std::string& path);

// Writes a file atomically: temp file in the same directory, fsync, rename.
Result<> writeFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Finds an executable by name on $PATH and the sbin directories a daemon
// started with a short PATH would miss; a name with a slash is taken as is.
Result<std::string> lookPath(const std::string& name);

// Whether the kernel has mount_setattr(2) (Linux 5.12), which recursive
// read-only mounts need: asked once, by calling it with a bad descriptor.
bool kernelHasMountSetattr();

// The filesystem holding `path`: its size and inodes (statvfs), and the
// device it is mounted from (the source of its mountinfo entry, matched by
// st_dev), e.g. "/dev/vda1".
struct Filesystem {
  std::string device;
  uint64_t bytes = 0, bytesFree = 0, inodes = 0, inodesFree = 0;
};
Result<Filesystem> filesystemOf(const std::string& path);
// The source of the entry for device `major:minor` in mountinfo text, or "".
std::string mountSource(std::string_view mountinfo, unsigned major, unsigned minor);

// An exclusive, non-blocking flock held for the life of the object.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::string& path);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace crix::sys
