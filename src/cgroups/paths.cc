#include "cgroups/paths.h"

#include <vector>

namespace crix::cgroups {
namespace {

constexpr std::string_view kSliceSuffix = ".slice";

}  // namespace

Driver driverNamed(const std::string& name) {
  return name == "systemd" ? Driver::Systemd : Driver::Cgroupfs;
}

Result<> checkParent(Driver driver, const std::string& parent) {
  if (driver == Driver::Systemd) {
    if (auto dir = sliceDirectory(parent); !dir)
      return fail(Code::InvalidArgument, "cgroup parent \"" + parent + "\" is not a systemd slice (" +
                                             dir.error().message() + "; the systemd driver wants e.g. kubepods.slice)");
    return {};
  }
  if (parent.empty() || parent[0] != '/' || parent.find("/../") != std::string::npos || parent.ends_with("/.."))
    return fail(Code::InvalidArgument, "cgroup parent \"" + parent +
                                           "\" is not an absolute cgroupfs path (the cgroupfs driver wants e.g. "
                                           "/kubepods)");
  return {};
}

Result<std::string> sliceDirectory(const std::string& slice) {
  if (!slice.ends_with(kSliceSuffix)) return fail(Code::InvalidArgument, "a slice name ends in .slice");
  if (slice.find('/') != std::string::npos) return fail(Code::InvalidArgument, "a slice name has no /");
  std::string name = slice.substr(0, slice.size() - kSliceSuffix.size());
  if (name == "-") return std::string("/");
  // Every dash opens a level; an empty level (a leading, trailing or
  // doubled dash) names no slice.
  std::string dir, prefix;
  size_t start = 0;
  while (true) {
    size_t dash = name.find('-', start);
    std::string part = name.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (part.empty()) return fail(Code::InvalidArgument, "a slice name has no empty part between dashes");
    dir += "/" + prefix + part + std::string(kSliceSuffix);
    if (dash == std::string::npos) break;
    prefix += part + "-";
    start = dash + 1;
  }
  return dir;
}

std::string runtimeCgroupsPath(Driver driver, const std::string& parent, const std::string& id) {
  if (driver == Driver::Systemd) return (parent.empty() ? "system.slice" : parent) + ":crix:" + id;
  return (parent.empty() ? "/crix" : parent) + "/crix-" + id;
}

Result<std::string> cgroupDirectory(const std::string& cgroupsPath) {
  auto colon = cgroupsPath.find(':');
  if (colon == std::string::npos) return cgroupsPath;
  auto second = cgroupsPath.find(':', colon + 1);
  if (second == std::string::npos || cgroupsPath.find(':', second + 1) != std::string::npos)
    return fail(Code::InvalidArgument, "cgroups path \"" + cgroupsPath + "\" is neither a path nor slice:prefix:name");
  std::string slice = cgroupsPath.substr(0, colon);
  std::string prefix = cgroupsPath.substr(colon + 1, second - colon - 1);
  std::string name = cgroupsPath.substr(second + 1);
  if (name.empty() || name.find('/') != std::string::npos || prefix.find('/') != std::string::npos)
    return fail(Code::InvalidArgument, "cgroups path \"" + cgroupsPath + "\" names no unit");
  // The runtime puts a unit without a slice into system.slice.
  std::string dir =
      TRY_CTX(sliceDirectory(slice.empty() ? "system.slice" : slice), "cgroups path \"" + cgroupsPath + "\"");
  std::string unit = (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return (dir == "/" ? "" : dir) + "/" + unit;
}

}  // namespace crix::cgroups
