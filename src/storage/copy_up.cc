#include "storage/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "sys/unique_fd.h"

namespace crix::storage {
namespace {

constexpr int kMaxDepth = 256;

// Owner, mode and times of `st` onto the open `fd`.
Result<> keepAttributes(int fd, const struct stat& st, const std::string& what) {
  if (::fchown(fd, st.st_uid, st.st_gid) != 0) return failErrno("chown " + what, errno);
  // After the chown, which clears set-id bits.
  if (::fchmod(fd, st.st_mode & 07777) != 0) return failErrno("chmod " + what, errno);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(fd, times) != 0) return failErrno("set times of " + what, errno);
  return {};
}

Result<> copyFile(int srcDir, int dstDir, const char* name, const struct stat& st, const std::string& what) {
  sys::UniqueFd in(::openat(srcDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return failErrno("open " + what, errno);
  sys::UniqueFd out(::openat(dstDir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return failErrno("create " + what, errno);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(std::min<off_t>(left, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno("copy " + what, errno);
    if (n == 0) break;  // the file shrank under us: what there was
    left -= n;
  }
  return keepAttributes(out.get(), st, what);
}

Result<> copyTree(int srcDir, int dstDir, const std::string& where, int depth) {
  if (depth > kMaxDepth) return fail(Code::InvalidArgument, where + ": more than 256 directories deep");
  int listFd = ::dup(srcDir);
  if (listFd < 0) return failErrno("dup", errno);
  DIR* dir = ::fdopendir(listFd);
  if (!dir) {
    ::close(listFd);
    return failErrno("list " + where, errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(dir);

  for (const auto& name : names) {
    std::string what = where + "/" + name;
    struct stat st {};
    if (::fstatat(srcDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failErrno("stat " + what, errno);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dstDir, name.c_str(), 0700) != 0) return failErrno("mkdir " + what, errno);
      sys::UniqueFd src(::openat(srcDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      sys::UniqueFd dst(::openat(dstDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src.valid() || !dst.valid()) return failErrno("open " + what, errno);
      TRY(copyTree(src.get(), dst.get(), what, depth + 1));
      TRY(keepAttributes(dst.get(), st, what));
    } else if (S_ISREG(st.st_mode)) {
      TRY(copyFile(srcDir, dstDir, name.c_str(), st, what));
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
      ssize_t n = ::readlinkat(srcDir, name.c_str(), target.data(), target.size());
      if (n < 0) return failErrno("readlink " + what, errno);
      std::string to(target.data(), static_cast<size_t>(n));
      if (::symlinkat(to.c_str(), dstDir, name.c_str()) != 0) return failErrno("symlink " + what, errno);
      if (::fchownat(dstDir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
        return failErrno("chown " + what, errno);
    } else if (S_ISFIFO(st.st_mode)) {
      if (::mkfifoat(dstDir, name.c_str(), 0600) != 0) return failErrno("mkfifo " + what, errno);
      if (::fchownat(dstDir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
          ::fchmodat(dstDir, name.c_str(), st.st_mode & 07777, 0) != 0)
        return failErrno("chown " + what, errno);
    }
    // Device nodes and sockets are not copied: a volume is data.
  }
  return {};
}

}  // namespace

Result<> copyUp(const std::string& rootfs, const std::string& path, const std::string& dest) {
  sys::UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return failErrno("open rootfs " + rootfs, errno);
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  sys::UniqueFd src(static_cast<int>(::syscall(SYS_openat2, root.get(), rel.c_str(), &how, sizeof how)));
  if (!src.valid()) {
    // Nothing there (or not a directory): the volume starts empty.
    if (errno == ENOENT || errno == ENOTDIR) return {};
    return failErrno("open " + path + " in the image", errno);
  }
  sys::UniqueFd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst.valid()) return failErrno("open volume " + dest, errno);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return failErrno("stat " + path + " in the image", errno);
  TRY_CTX(copyTree(src.get(), dst.get(), path, 0), "copy-up of volume " + path);
  return keepAttributes(dst.get(), st, "volume " + path);
}

}  // namespace crix::storage
