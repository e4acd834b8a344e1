// Which of a container's limits the host can enforce. The kubelet asks for
// limits whatever the node's cgroups are (a 0 for every huge page size,
// say); a limit whose controller the OCI runtime cannot use makes runc fail
// the whole container, so such limits are left out of the spec, each one
// named, as containerd and CRI-O do.
#pragma once

#include <string>
#include <vector>

#include "cgroups/controllers.h"
#include "common/error.h"
#include "spec/container_spec.h"

namespace crix::lifecycle {

// Removes from `r` the limits that `host` cannot enforce and returns one
// line per limit removed ("hugepage limit 2MB: no hugetlb controller").
// Huge page limits without a hugetlb controller are an error unless
// `tolerateMissingHugetlb`; a page size the host does not have always is.
Result<std::vector<std::string>> dropUnenforceable(spec::Resources& r, const cgroups::Controllers& host,
                                                   bool tolerateMissingHugetlb);

}  // namespace crix::lifecycle
