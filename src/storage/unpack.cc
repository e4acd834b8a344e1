#include "storage/unpack.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <archive.h>
#include <archive_entry.h>

#include "sys/unique_fd.h"

namespace crix::storage {
namespace {

using sys::UniqueFd;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

tl::unexpected<Error> hostile(const std::string& name, const std::string& why) {
  return fail(Code::InvalidArgument, "refusing layer: entry \"" + name + "\" " + why);
}

// Cleans an entry name: no leading "./" or "/", no "." components.
// Absolute names and ".." components are refused, not rewritten.
Result<std::string> cleanName(const char* raw) {
  std::string name = raw ? raw : "";
  if (!name.empty() && name[0] == '/') return hostile(name, "is an absolute path");
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    std::string_view c(name.data() + i, j - i);
    if (c == "..") return hostile(name, "contains \"..\"");
    if (!c.empty() && c != ".") {
      if (!out.empty()) out += '/';
      out += c;
    }
    i = j + 1;
  }
  return out;
}

struct Split {
  std::string parent, base;
};
Split split(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

int openat2Beneath(int dirfd, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

// Opens directory `path` under root, creating missing components; a path
// that would leave the root (through a symlink) is refused.
Result<UniqueFd> openDir(int rootFd, const std::string& path, const std::string& entry) {
  if (path.empty()) return UniqueFd(::fcntl(rootFd, F_DUPFD_CLOEXEC, 0));
  UniqueFd fd(openat2Beneath(rootFd, path, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) return fd;
  if (errno == EXDEV || errno == ELOOP) return hostile(entry, "resolves outside the layer through a symlink");
  if (errno != ENOENT) return failErrno("open " + path + " in layer", errno);
  // Create what is missing, one component at a time, each resolved beneath root.
  UniqueFd cur(::fcntl(rootFd, F_DUPFD_CLOEXEC, 0));
  std::string walked;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string comp = path.substr(i, j - i);
    walked += (walked.empty() ? "" : "/") + comp;
    if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) return failErrno("mkdir " + walked, errno);
    UniqueFd next(openat2Beneath(rootFd, walked, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!next.valid()) {
      if (errno == EXDEV || errno == ELOOP) return hostile(entry, "resolves outside the layer through a symlink");
      return failErrno("open " + walked + " in layer", errno);
    }
    cur = std::move(next);
    i = j + 1;
  }
  return cur;
}

// Makes room for a new entry: anything but a directory that stays a
// directory is removed first, as tar does.
Result<> makeRoom(int parent, const std::string& base, bool newIsDir, const std::string& entry) {
  struct stat st {};
  if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) {
    if (newIsDir) return {};
    if (::unlinkat(parent, base.c_str(), AT_REMOVEDIR) != 0)
      return failErrno("replace directory " + entry + " in layer", errno);
    return {};
  }
  if (::unlinkat(parent, base.c_str(), 0) != 0) return failErrno("replace " + entry + " in layer", errno);
  return {};
}

std::string archiveError(archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown archive error";
}

timespec toTs(time_t sec, long nsec) {
  return timespec{sec, nsec};
}

void applyXattrs(archive_entry* e, int fd) {
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    // Best effort: a file system without user or security xattrs must not fail the pull.
    (void)::fsetxattr(fd, name, value, size, 0);
  }
}

Result<> setOwnerModeTimes(int fd, archive_entry* e, const std::string& entry) {
  if (::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))) != 0)
    return failErrno("chown " + entry, errno);
  // After chown: chown clears set-id bits.
  if (::fchmod(fd, archive_entry_perm(e)) != 0) return failErrno("chmod " + entry, errno);
  applyXattrs(e, fd);
  timespec times[2] = {toTs(archive_entry_atime(e), archive_entry_atime_nsec(e)),
                       toTs(archive_entry_mtime(e), archive_entry_mtime_nsec(e))};
  if (!archive_entry_atime_is_set(e)) times[0] = times[1];
  ::futimens(fd, times);
  return {};
}

Result<int64_t> writeFile(archive* a, int fd, const std::string& entry) {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int64_t written = 0;
  for (;;) {
    int rc = archive_read_data_block(a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return fail(Code::InvalidArgument, "read " + entry + ": " + archiveError(a));
    const char* p = static_cast<const char*>(buf);
    size_t done = 0;
    while (done < size) {
      ssize_t w = ::pwrite(fd, p + done, size - done, offset + static_cast<la_int64_t>(done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return failErrno("write " + entry, errno);
      done += static_cast<size_t>(w);
    }
    written += static_cast<int64_t>(size);
  }
  return written;
}

struct DirTimes {
  std::string path;
  timespec times[2];
};

struct Reader {
  LayerStream* stream;
  std::vector<char> buf = std::vector<char>(256 << 10);
  std::optional<Error> error;  // why the stream failed, if it did
};

la_ssize_t readCallback(archive*, void* data, const void** out) {
  auto* r = static_cast<Reader*>(data);
  auto got = r->stream->read(r->buf.data(), r->buf.size());
  if (!got) {
    r->error = got.error();
    return -1;
  }
  *out = r->buf.data();
  return static_cast<la_ssize_t>(*got);
}

}  // namespace

Result<UnpackStats> unpackLayer(int rootFd, LayerStream& stream, const UnpackOptions& opts) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  Reader reader{&stream};
  if (archive_read_open(a.get(), &reader, nullptr, readCallback, nullptr) != ARCHIVE_OK)
    return fail(Code::InvalidArgument, "open layer tar: " + archiveError(a.get()));

  UnpackStats stats;
  std::vector<DirTimes> dirs;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (reader.error) return fail(*reader.error);
      return fail(Code::InvalidArgument, "read layer tar: " + archiveError(a.get()));
    }
    ++stats.entries;
    std::string name = TRY(cleanName(archive_entry_pathname(e)));
    if (name.empty()) continue;  // "./" itself: the layer root keeps its own metadata
    auto [parentPath, base] = split(name);
    UniqueFd parent = TRY(openDir(rootFd, parentPath, name));

    if (base == kOpaqueMarker) {
      UniqueFd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir.valid() || ::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
        return failErrno("mark " + parentPath + " opaque", errno);
      continue;
    }
    if (base.starts_with(kWhiteoutPrefix)) {
      std::string target = base.substr(kWhiteoutPrefix.size());
      if (target.empty()) return hostile(name, "is a whiteout without a name");
      TRY(makeRoom(parent.get(), target, false, name));
      if (::mknodat(parent.get(), target.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
        return failErrno("whiteout " + name, errno);
      continue;
    }

    const char* linkTarget = archive_entry_hardlink(e);
    if (linkTarget) {
      std::string target = TRY(cleanName(linkTarget));
      if (target.empty()) return hostile(name, "is a hard link to the layer root");
      auto [tParentPath, tBase] = split(target);
      UniqueFd tParent(
          openat2Beneath(rootFd, tParentPath.empty() ? "." : tParentPath, O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!tParent.valid()) {
        if (errno == EXDEV || errno == ELOOP) return hostile(name, "links to a target outside the layer");
        return failErrno("resolve hard link target " + target, errno);
      }
      TRY(makeRoom(parent.get(), base, false, name));
      if (::linkat(tParent.get(), tBase.c_str(), parent.get(), base.c_str(), 0) != 0)
        return failErrno("hard link " + name + " to " + target, errno);
      continue;
    }

    mode_t type = archive_entry_filetype(e);
    switch (type) {
      case AE_IFDIR: {
        TRY(makeRoom(parent.get(), base, true, name));
        if (::mkdirat(parent.get(), base.c_str(), 0700) != 0 && errno != EEXIST)
          return failErrno("mkdir " + name, errno);
        UniqueFd dir(::openat(parent.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir.valid()) return failErrno("open directory " + name, errno);
        TRY(setOwnerModeTimes(dir.get(), e, name));
        // Children change a directory's mtime: set it again at the end.
        dirs.push_back({name,
                        {toTs(archive_entry_mtime(e), archive_entry_mtime_nsec(e)),
                         toTs(archive_entry_mtime(e), archive_entry_mtime_nsec(e))}});
        break;
      }
      case AE_IFREG: {
        TRY(makeRoom(parent.get(), base, false, name));
        UniqueFd fd(::openat(parent.get(), base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd.valid()) return failErrno("create " + name, errno);
        int64_t size = archive_entry_size(e);
        if (size > 0 && ::ftruncate(fd.get(), size) != 0) return failErrno("size " + name, errno);
        auto written = writeFile(a.get(), fd.get(), name);
        if (!written) return fail(reader.error ? *reader.error : written.error());
        stats.bytes += *written;
        TRY(setOwnerModeTimes(fd.get(), e, name));
        break;
      }
      case AE_IFLNK: {
        TRY(makeRoom(parent.get(), base, false, name));
        const char* target = archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", parent.get(), base.c_str()) != 0)
          return failErrno("symlink " + name, errno);
        ::fchownat(parent.get(), base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW);
        timespec times[2] = {toTs(archive_entry_mtime(e), archive_entry_mtime_nsec(e)),
                             toTs(archive_entry_mtime(e), archive_entry_mtime_nsec(e))};
        ::utimensat(parent.get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW);
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        if (type != AE_IFIFO && !opts.allowDevices)
          return hostile(name, "is a device node, which this node does not allow");
        TRY(makeRoom(parent.get(), base, false, name));
        if (::mknodat(parent.get(), base.c_str(), type | archive_entry_perm(e), archive_entry_rdev(e)) != 0)
          return failErrno("mknod " + name, errno);
        ::fchownat(parent.get(), base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW);
        ::fchmodat(parent.get(), base.c_str(), archive_entry_perm(e), 0);
        break;
      }
      default: break;  // sockets and unknown types carry no content
    }
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    UniqueFd dir(openat2Beneath(rootFd, it->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) ::futimens(dir.get(), it->times);
  }
  return stats;
}

}  // namespace crix::storage
