// AppArmor profiles and SELinux labels. crix applies neither: a request
// for a Localhost AppArmor profile or an SELinux label is refused with the
// reason (the host has no such LSM, or crix does not load its policies)
// rather than run unconfined without a word. RuntimeDefault and Unconfined
// AppArmor run: on a host without AppArmor both mean no profile.
#pragma once

#include <string>

#include "common/error.h"

namespace crix::security {

// Which of the two the kernel runs, read from sysfs (`sys` is /sys but in tests).
struct HostLsm {
  bool apparmor = false, selinux = false;
};
HostLsm probeHostLsm(const std::string& sys = "/sys");
// This host's, probed once.
const HostLsm& hostLsm();

// The CRI's choices in string form: AppArmor "", "runtime/default",
// "unconfined" or "localhost/<ref>"; SELinux "user:role:type:level" (any
// part may be empty; all empty: none asked).
struct LsmRequest {
  std::string apparmor;
  std::string selinux;
};

// FailedPrecondition, naming `what` (a pod or container) and why, for a
// request crix cannot honour on `host`.
Result<> checkLsm(const LsmRequest& r, const HostLsm& host, const std::string& what);

}  // namespace crix::security
