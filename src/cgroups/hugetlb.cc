#include "cgroups/hugetlb.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroups/paths.h"

namespace crix::cgroups {
namespace {

// A cgroup file takes one write of its value; it is never replaced.
Result<> writeValue(const std::string& file, const std::string& value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return fail(Code::Internal, file + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return fail(Code::Internal, file + ": writing " + value + ": " + std::strerror(n < 0 ? err : EIO));
  return {};
}

}  // namespace

Result<> writeHugetlbLimits(const std::string& cgroupsPath, HostMode mode,
                            const std::map<std::string, uint64_t>& limits, const std::string& root) {
  std::string dir = TRY(cgroupDirectory(cgroupsPath));
  for (const auto& [size, bytes] : limits) {
    std::string file = mode == HostMode::Unified ? root + dir + "/hugetlb." + size + ".max"
                                                 : root + "/hugetlb" + dir + "/hugetlb." + size + ".limit_in_bytes";
    TRY(writeValue(file, std::to_string(bytes)));
  }
  return {};
}

}  // namespace crix::cgroups
