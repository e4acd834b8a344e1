#include "security/seccomp.h"

#include <algorithm>

namespace crix::security {

using nlohmann::json;

Result<SeccompRequest> parseSeccompPath(const std::string& path) {
  if (path.empty() || path == "unconfined") return SeccompRequest{SeccompKind::Unconfined, ""};
  if (path == "runtime/default" || path == "docker/default") return SeccompRequest{SeccompKind::RuntimeDefault, ""};
  if (path.starts_with("localhost/")) {
    std::string file = path.substr(10);
    if (file.empty() || file[0] != '/')
      return fail(Code::InvalidArgument, "seccomp profile \"" + path + "\": localhost/ needs an absolute path");
    return SeccompRequest{SeccompKind::Localhost, file};
  }
  return fail(Code::InvalidArgument, "unknown seccomp profile \"" + path +
                                         "\": want unconfined, runtime/default or localhost/<absolute path>");
}

json runtimeDefaultProfile(const std::vector<std::string>& capabilities) {
  // Each denied call, with the capability that makes it legitimate ("" = none does).
  static const std::vector<std::pair<std::string, std::string>> denied = {{"acct", "CAP_SYS_PACCT"},
                                                                          {"add_key", ""},
                                                                          {"bpf", "CAP_SYS_ADMIN"},
                                                                          {"clock_adjtime", "CAP_SYS_TIME"},
                                                                          {"clock_settime", "CAP_SYS_TIME"},
                                                                          {"create_module", "CAP_SYS_MODULE"},
                                                                          {"delete_module", "CAP_SYS_MODULE"},
                                                                          {"finit_module", "CAP_SYS_MODULE"},
                                                                          {"fsconfig", "CAP_SYS_ADMIN"},
                                                                          {"fsmount", "CAP_SYS_ADMIN"},
                                                                          {"fsopen", "CAP_SYS_ADMIN"},
                                                                          {"fspick", "CAP_SYS_ADMIN"},
                                                                          {"get_kernel_syms", ""},
                                                                          {"init_module", "CAP_SYS_MODULE"},
                                                                          {"ioperm", "CAP_SYS_RAWIO"},
                                                                          {"iopl", "CAP_SYS_RAWIO"},
                                                                          {"kcmp", "CAP_SYS_PTRACE"},
                                                                          {"kexec_file_load", "CAP_SYS_BOOT"},
                                                                          {"kexec_load", "CAP_SYS_BOOT"},
                                                                          {"keyctl", ""},
                                                                          {"lookup_dcookie", "CAP_SYS_ADMIN"},
                                                                          {"mount", "CAP_SYS_ADMIN"},
                                                                          {"mount_setattr", "CAP_SYS_ADMIN"},
                                                                          {"move_mount", "CAP_SYS_ADMIN"},
                                                                          {"name_to_handle_at", "CAP_SYS_ADMIN"},
                                                                          {"nfsservctl", ""},
                                                                          {"open_by_handle_at", "CAP_DAC_READ_SEARCH"},
                                                                          {"open_tree", "CAP_SYS_ADMIN"},
                                                                          {"perf_event_open", "CAP_SYS_ADMIN"},
                                                                          {"pivot_root", "CAP_SYS_ADMIN"},
                                                                          {"process_vm_readv", "CAP_SYS_PTRACE"},
                                                                          {"process_vm_writev", "CAP_SYS_PTRACE"},
                                                                          {"ptrace", "CAP_SYS_PTRACE"},
                                                                          {"query_module", ""},
                                                                          {"quotactl", "CAP_SYS_ADMIN"},
                                                                          {"reboot", "CAP_SYS_BOOT"},
                                                                          {"request_key", ""},
                                                                          {"setns", "CAP_SYS_ADMIN"},
                                                                          {"settimeofday", "CAP_SYS_TIME"},
                                                                          {"stime", "CAP_SYS_TIME"},
                                                                          {"swapoff", "CAP_SYS_ADMIN"},
                                                                          {"swapon", "CAP_SYS_ADMIN"},
                                                                          {"sysfs", ""},
                                                                          {"syslog", "CAP_SYSLOG"},
                                                                          {"umount", "CAP_SYS_ADMIN"},
                                                                          {"umount2", "CAP_SYS_ADMIN"},
                                                                          {"unshare", "CAP_SYS_ADMIN"},
                                                                          {"uselib", ""},
                                                                          {"userfaultfd", ""},
                                                                          {"ustat", ""},
                                                                          {"vm86", ""},
                                                                          {"vm86old", ""}};
  std::vector<std::string> names;
  for (const auto& [call, cap] : denied) {
    bool unlocked = !cap.empty() && std::find(capabilities.begin(), capabilities.end(), cap) != capabilities.end();
    if (!unlocked) names.push_back(call);
  }
  return json{
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
      {"syscalls", json::array({{{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}})}};
}

Result<std::optional<json>> seccompFor(const SeccompRequest& req, const std::string& localhostText,
                                       const std::vector<std::string>& capabilities) {
  switch (req.kind) {
    case SeccompKind::Unconfined: return std::optional<json>();
    case SeccompKind::RuntimeDefault: return std::optional<json>(runtimeDefaultProfile(capabilities));
    case SeccompKind::Localhost: {
      auto j = json::parse(localhostText, nullptr, false);
      if (!j.is_object() || !j.contains("defaultAction"))
        return fail(Code::InvalidArgument, "seccomp profile " + req.localhostPath + " is not a seccomp profile");
      return std::optional<json>(j);
    }
  }
  return std::optional<json>();
}

}  // namespace crix::security
