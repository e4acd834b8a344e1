#include "lifecycle/host_ops.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "cgroups/cleanup.h"
#include "cgroups/hugetlb.h"
#include "common/parse.h"
#include "lifecycle/conmon_process.h"
#include "lifecycle/pod_files.h"
#include "network/netns.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

namespace crix::lifecycle {

Result<> SystemHostOps::createUserns(const std::string& path, const std::vector<sys::IdMapping>& uids,
                                     const std::vector<sys::IdMapping>& gids) {
  return sys::createUserns(path, uids, gids);
}

Result<> SystemHostOps::createNetns(const std::string& path, const std::string& ownerUserns) {
  return network::createNetns(path, ownerUserns);
}

Result<> SystemHostOps::createIpcUts(const std::string& ipcPath, const std::string& utsPath,
                                     const std::string& hostname, const std::string& ownerUserns) {
  return sys::createIpcUts(ipcPath, utsPath, hostname, ownerUserns);
}

Result<> SystemHostOps::unpin(const std::string& path) {
  return sys::unpinNamespace(path);
}

// From a thread that joins the namespace, so that crixd's own is untouched.
Result<> SystemHostOps::applyNetSysctls(const std::string& netns, const std::map<std::string, std::string>& sysctls) {
  std::map<std::string, std::string> net;
  for (const auto& [k, v] : sysctls)
    if (k.starts_with("net.")) net[k] = v;
  if (net.empty()) return {};
  Result<> result;
  std::thread worker([&] {
    sys::UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = failErrno("join " + netns, errno);
      return;
    }
    for (const auto& [k, v] : net) {
      std::string key = k;
      std::replace(key.begin(), key.end(), '.', '/');
      sys::UniqueFd fd(::open(("/proc/sys/" + key).c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd.valid() || ::write(fd.get(), v.data(), v.size()) < 0) {
        result = failErrno("set sysctl " + k + "=" + v, errno);
        return;
      }
    }
  });
  worker.join();
  return result;
}

Result<> SystemHostOps::mountShm(const std::string& at, int64_t bytes) {
  return lifecycle::mountShm(at, bytes);
}

Result<> SystemHostOps::unmountShm(const std::string& at) {
  return lifecycle::unmountShm(at);
}

Result<> SystemHostOps::mountSysfs(const std::string& netns, const std::string& at) {
  return network::mountSysfs(netns, at);
}

Result<> SystemHostOps::unmountSysfs(const std::string& at) {
  return lifecycle::unmountShm(at);  // the same detach of a mount point, fine when not mounted
}

Result<std::string> SystemHostOps::mountRootfs(const std::string& id, const std::vector<std::string>& lowers,
                                               const storage::IdMappedLayers* idmap) {
  return storage::mountRootfs(paths_, id, lowers, idmap);
}

Result<> SystemHostOps::unmountRootfs(const std::string& id) {
  return storage::unmountRootfs(paths_, id);
}

Result<std::string> SystemHostOps::mountVolumeImage(const std::string& id, size_t n,
                                                    const std::vector<std::string>& lowers) {
  return storage::mountVolumeImage(paths_, id, n, lowers);
}

Result<> SystemHostOps::removeContainerDir(const std::string& id) {
  return storage::removeContainerDir(paths_, id);
}

Result<bool> SystemHostOps::destroyCgroup(const std::string& cgroupsPath) {
  return cgroups::destroyCgroup(cgroupsPath);
}

Result<> SystemHostOps::setHugetlbLimits(const std::string& cgroupsPath,
                                         const std::map<std::string, uint64_t>& limits) {
  return cgroups::writeHugetlbLimits(cgroupsPath, cgroups::readHostLayout().mode, limits);
}

int SystemHostOps::conmonPid(const std::string& id, const std::string& bundle) const {
  auto text = sys::readFile(Paths::bundleConmonPidFile(bundle));
  if (!text) return 0;
  std::string_view digits = *text;
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == ' ')) digits.remove_suffix(1);
  int pid = parseNumber<int>(digits).value_or(0);
  if (pid <= 0) return 0;
  auto args = sys::processArgs(pid);
  return isConmon(args) && argAfter(args, "-c") == id ? pid : 0;
}

}  // namespace crix::lifecycle
