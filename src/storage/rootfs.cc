#include "storage/rootfs.h"

#include <sys/mount.h>

#include <cerrno>
#include <filesystem>

#include "sys/fs.h"

namespace crix::storage {

Result<std::string> mountRootfs(const std::string& containersDir, const std::string& id,
                                const std::vector<std::string>& lowers) {
  if (lowers.empty()) return fail(Code::InvalidArgument, "container " + id + ": image has no layers");
  std::string dir = containersDir + "/" + id;
  for (const char* sub : {"/upper", "/work", "/merged"}) TRY(sys::mkdirAll(dir + sub, 0755));
  std::string lower;
  for (const auto& l : lowers) lower += (lower.empty() ? "" : ":") + l;
  std::string opts = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  if (opts.size() > 4000)
    return fail(Code::ResourceExhausted, "container " + id + ": too many image layers for one overlay mount");
  if (::mount("overlay", (dir + "/merged").c_str(), "overlay", 0, opts.c_str()) != 0)
    return failErrno("mount rootfs of " + id, errno);
  return dir + "/merged";
}

Result<> unmountRootfs(const std::string& containersDir, const std::string& id) {
  std::string merged = containersDir + "/" + id + "/merged";
  if (::umount2(merged.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return failErrno("unmount rootfs of " + id, errno);
  return {};
}

Result<> removeContainerDir(const std::string& containersDir, const std::string& id) {
  TRY(unmountRootfs(containersDir, id));
  std::error_code ec;
  std::filesystem::remove_all(containersDir + "/" + id, ec);
  if (ec) return fail(Code::Internal, "remove container dir " + id + ": " + ec.message());
  return {};
}

}  // namespace crix::storage
