// Where a container's cgroup lives, for both cgroup drivers.
//
// The runtime is handed a cgroupsPath in the driver's own form:
//
//   cgroupfs   /kubepods/besteffort/crix-<id>     a directory below each hierarchy's root
//   systemd    kubepods-besteffort.slice:crix:<id>  slice, prefix and name; the runtime asks
//                                                   systemd for the scope crix-<id>.scope
//
// systemd places a slice by its name: each dash opens a level, so
// "kubepods-besteffort.slice" lives at /kubepods.slice/kubepods-besteffort.slice
// and the root slice is "-.slice". crixd reads statistics from, and after a
// crash cleans, the directory either form names.
#pragma once

#include <string>

#include "common/error.h"

namespace crix::cgroups {

enum class Driver { Cgroupfs, Systemd };

// "cgroupfs" or "systemd" (the config has already refused anything else).
Driver driverNamed(const std::string& name);

// A pod's cgroup parent as the driver wants it: an absolute path for
// cgroupfs, a slice name ("kubepods-burstable.slice") for systemd.
// INVALID_ARGUMENT, saying which form was expected, otherwise.
Result<> checkParent(Driver driver, const std::string& parent);

// The directory of a slice below a hierarchy's root:
// "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice", "-.slice" → "/".
Result<std::string> sliceDirectory(const std::string& slice);

// The cgroupsPath for the runtime of the container (or pod) `id` below
// `parent` (empty: /crix for cgroupfs, system.slice for systemd).
std::string runtimeCgroupsPath(Driver driver, const std::string& parent, const std::string& id);

// The directory below each hierarchy's root that a cgroupsPath in either
// form names: "/crix/crix-<id>" is itself; "a-b.slice:crix:<id>" is
// "/a.slice/a-b.slice/crix-<id>.scope".
Result<std::string> cgroupDirectory(const std::string& cgroupsPath);

}  // namespace crix::cgroups
