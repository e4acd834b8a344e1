#include "security/lsm.h"

#include <fstream>

namespace crix::security {

HostLsm probeHostLsm(const std::string& sys) {
  HostLsm h;
  std::string enabled;
  std::ifstream(sys + "/module/apparmor/parameters/enabled") >> enabled;
  h.apparmor = enabled == "Y";
  h.selinux = std::ifstream(sys + "/fs/selinux/enforce").good();
  return h;
}

const HostLsm& hostLsm() {
  static const HostLsm host = probeHostLsm();
  return host;
}

Result<> checkLsm(const LsmRequest& r, const HostLsm& host, const std::string& what) {
  if (r.apparmor.starts_with("localhost/"))
    return fail(Code::FailedPrecondition,
                what + " asks for AppArmor profile \"" + r.apparmor.substr(10) + "\", but " +
                    (host.apparmor ? "crix does not load AppArmor profiles"
                                   : "this host has no AppArmor (/sys/module/apparmor/parameters/enabled is not Y)"));
  if (!r.apparmor.empty() && r.apparmor != "runtime/default" && r.apparmor != "unconfined")
    return fail(Code::InvalidArgument, what + ": unknown AppArmor profile \"" + r.apparmor + "\"");
  if (r.selinux.find_first_not_of(':') != std::string::npos)
    return fail(Code::FailedPrecondition, what + " asks for SELinux label \"" + r.selinux + "\", but " +
                                              (host.selinux ? "crix does not label containers for SELinux"
                                                            : "this host has no SELinux (no /sys/fs/selinux)"));
  return {};
}

}  // namespace crix::security
