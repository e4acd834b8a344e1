#include "cgroups/cleanup.h"

#include "cgroups/paths.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "sys/fs.h"

namespace crix::cgroups {

std::vector<std::string> hierarchies(const std::string& root) {
  struct stat st {};
  if (::stat((root + "/cgroup.controllers").c_str(), &st) == 0) return {root};
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec))
    if (e.is_directory(ec) && !e.is_symlink(ec)) out.push_back(e.path().string());
  return out;
}

Result<bool> destroyCgroup(const std::string& cgroupsPath, const std::string& root) {
  std::string path = TRY(cgroupDirectory(cgroupsPath));
  // It SIGKILLs whatever is inside: only ever a container's own leaf.
  auto leaf = std::filesystem::path(path).filename().string();
  if (path.empty() || path[0] != '/' || path.find("/..") != std::string::npos || !leaf.starts_with("crix-") ||
      leaf.size() <= 5)
    return fail(Code::InvalidArgument, "refusing to destroy cgroup \"" + path + "\": not a crix container cgroup");
  bool found = false;
  for (const auto& h : hierarchies(root)) {
    std::string dir = h + path;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) continue;
    found = true;
    // Processes first: a cgroup with members cannot go. Killed ones leave
    // it as they exit, so the rmdir is retried for a while.
    int err = 0;
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (auto procs = sys::readFile(dir + "/cgroup.procs")) {
        std::istringstream in(*procs);
        for (int pid; in >> pid;) ::kill(pid, SIGKILL);
      }
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
        err = 0;
        break;
      }
      err = errno;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (err != 0) return failErrno("remove cgroup " + dir, err);
  }
  return found;
}

}  // namespace crix::cgroups
