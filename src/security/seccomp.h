// Seccomp profiles for containers: the built-in RuntimeDefault, Localhost
// profile files, and Unconfined. Pure: the caller reads profile files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace crix::security {

enum class SeccompKind { Unconfined, RuntimeDefault, Localhost };

struct SeccompRequest {
  SeccompKind kind = SeccompKind::Unconfined;
  std::string localhostPath;  // Localhost only: an absolute path on the node
};

// Parses the deprecated CRI string form: "", "unconfined",
// "runtime/default", "docker/default", "localhost/<absolute path>".
Result<SeccompRequest> parseSeccompPath(const std::string& path);

// The built-in RuntimeDefault profile: everything is allowed except the
// system calls that reach past the container (kernel modules, kexec,
// reboot, keyrings, bpf, perf, clock and swap changes, mount and namespace
// juggling without the privilege that normally gates them...), which fail
// with EPERM — unless the container holds the capability that the kernel
// itself checks for them (CAP_SYS_ADMIN for mount, CAP_SYS_PTRACE for
// ptrace...), as Docker's default profile does.
nlohmann::json runtimeDefaultProfile(const std::vector<std::string>& capabilities);

// The spec's linux.seccomp for a request; `localhostText` is the profile
// file's content for Localhost. Nothing for Unconfined.
Result<std::optional<nlohmann::json>> seccompFor(const SeccompRequest& req, const std::string& localhostText,
                                                 const std::vector<std::string>& capabilities);

}  // namespace crix::security
