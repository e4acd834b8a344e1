#include "sys/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace crix::sys {

Result<> mkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return fail(Code::InvalidArgument, "mkdir: empty path");
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), mode) == 0 || errno == EEXIST) continue;
    return failErrno("mkdir " + prefix, errno);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failErrno("stat " + path, errno);
  if (!S_ISDIR(st.st_mode)) return fail(Code::FailedPrecondition, path + " exists and is not a directory");
  return {};
}

Result<std::string> readFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return failErrno("open " + path, errno);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno("read " + path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<> writeFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return failErrno("create " + tmp, errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return failErrno("write " + tmp, e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return failErrno("commit " + path, e);
  }
  return {};
}

Result<std::string> lookPath(const std::string& name) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return fail(Code::InvalidArgument, "empty executable name");
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return name;
    return fail(Code::NotFound, "executable " + name + " not found");
  }
  const char* env = std::getenv("PATH");
  std::string dirs = env ? env : "";
  dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string_view dir(dirs.data() + start, end - start);
    if (!dir.empty()) {
      std::string candidate = std::string(dir) + "/" + name;
      if (executable(candidate)) return candidate;
    }
    start = end + 1;
  }
  return fail(Code::NotFound, "executable " + name + " not found in PATH or the sbin directories");
}

bool kernelHasMountSetattr() {
  static const bool has = [] {
    errno = 0;
    // An invalid descriptor: EBADF where the call exists, ENOSYS where not.
    return ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0) == 0 || errno != ENOSYS;
  }();
  return has;
}

Result<FileLock> FileLock::acquire(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return failErrno("open lock " + path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return fail(Code::FailedPrecondition, "lock " + path + " is held by another process");
    return failErrno("lock " + path, errno);
  }
  return FileLock(std::move(fd));
}

std::string mountSource(std::string_view mountinfo, unsigned major, unsigned minor) {
  // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the
  // third field is major:minor, the source follows the fs type after " - ".
  std::string want = std::to_string(major) + ":" + std::to_string(minor);
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string id, parent, dev;
    if (!(f >> id >> parent >> dev) || dev != want) continue;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type, source;
    if (rest >> type >> source) return source;
  }
  return "";
}

Result<Filesystem> filesystemOf(const std::string& path) {
  struct statvfs v {};
  if (::statvfs(path.c_str(), &v) != 0) return failErrno("statvfs " + path, errno);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failErrno("stat " + path, errno);
  Filesystem fs;
  fs.bytes = uint64_t{v.f_blocks} * v.f_frsize;
  fs.bytesFree = uint64_t{v.f_bavail} * v.f_frsize;
  fs.inodes = v.f_files;
  fs.inodesFree = v.f_favail;
  auto mountinfo = readFile("/proc/self/mountinfo");
  if (mountinfo) fs.device = mountSource(*mountinfo, major(st.st_dev), minor(st.st_dev));
  return fs;
}

}  // namespace crix::sys
