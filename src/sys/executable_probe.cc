#include "sys/executable_probe.h"

#include <sys/stat.h>

#include <cerrno>

#include "sys/fs.h"
#include "sys/process.h"

namespace crix::sys {

Result<std::string> ExecutableProbe::check(const std::string& name) {
  std::string path = TRY(lookPath(name));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failErrno("stat " + path, errno);
  {
    std::lock_guard lock(mu_);
    auto it = seen_.find(path);
    if (it != seen_.end() && it->second.ino == st.st_ino && it->second.mtime.tv_sec == st.st_mtim.tv_sec &&
        it->second.mtime.tv_nsec == st.st_mtim.tv_nsec) {
      if (it->second.ok) return path;
      return fail(Code::FailedPrecondition, it->second.message);
    }
  }
  Seen seen{st.st_ino, st.st_mtim, false, ""};
  auto ran = runCommand({path, "--version"}, {.timeout = std::chrono::seconds(5)});
  if (!ran) {
    seen.message = path + " does not run: " + ran.error().message();
  } else if (ran->exitCode != 0) {
    std::string err = ran->err.substr(0, 200);
    seen.message =
        path + " --version failed with exit code " + std::to_string(ran->exitCode) + (err.empty() ? "" : ": " + err);
  } else {
    seen.ok = true;
  }
  std::lock_guard lock(mu_);
  seen_[path] = seen;
  if (seen.ok) return path;
  return fail(Code::FailedPrecondition, seen.message);
}

}  // namespace crix::sys
