#include "sys/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::sys {

Result<> claimSocketPath(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return fail(Code::InvalidArgument, "socket path " + path + " is too long for a unix socket");
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdirAll(path.substr(0, slash), 0755));

  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat " + path, errno);
  }
  if (!S_ISSOCK(st.st_mode))
    return fail(Code::FailedPrecondition, path + " exists and is not a socket; refusing to replace it");

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failErrno("socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    return fail(Code::FailedPrecondition,
                "socket " + path + " is served by another live process; refusing to steal it");
  if (errno != ECONNREFUSED) return failErrno("probe socket " + path, errno);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("remove stale socket " + path, errno);
  return {};
}

}  // namespace crix::sys
