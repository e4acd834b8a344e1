// Removing a container's cgroups when no runtime state is left to do it
// (recovery after a crash): every process in them is SIGKILLed, then each
// hierarchy's directory is removed.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace crix::cgroups {

// The hierarchies to look in: the unified root on v2, else one per
// mounted v1 controller (and the v2 "unified" one of a hybrid host).
std::vector<std::string> hierarchies(const std::string& root = "/sys/fs/cgroup");

// `cgroupsPath` as given to the runtime, in either driver's form
// (cgroups/paths.h), e.g. "/crix/crix-<id>"; fine when absent.
// Returns whether anything was there. Any path whose last component is not
// "crix-<something>" is refused: an empty one would name the root cgroup.
Result<bool> destroyCgroup(const std::string& cgroupsPath, const std::string& root = "/sys/fs/cgroup");

}  // namespace crix::cgroups
