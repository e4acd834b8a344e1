// What the managers do to the host besides asking the OCI runtime and the
// network plugin: pin a pod's namespaces, mount its shm and the root
// filesystems, remove cgroups, find a container's conmon. SystemHostOps
// does it for real; tests/fakes/fake_host_ops.h keeps it in a temp dir, so
// that RunPodSandbox, CreateContainer and start-up run in unit tests.
//
// Every path is one of common/paths.h's; the pod's namespaces are pinned at
// podNetns/podUserns/podIpcns/podUtsns, its shm at podShm, a container's
// rootfs under containerDir.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/paths.h"
#include "storage/rootfs.h"
#include "sys/namespaces.h"

namespace crix::lifecycle {

class HostOps {
 public:
  virtual ~HostOps() = default;

  // Pod namespaces, each pinned at a path whose directory exists. A
  // namespace made with `ownerUserns` belongs to that pinned user namespace.
  virtual Result<> createUserns(const std::string& path, const std::vector<sys::IdMapping>& uids,
                                const std::vector<sys::IdMapping>& gids) = 0;
  virtual Result<> createNetns(const std::string& path, const std::string& ownerUserns) = 0;
  // An empty path: that namespace is not made (sys::createIpcUts).
  virtual Result<> createIpcUts(const std::string& ipcPath, const std::string& utsPath, const std::string& hostname,
                                const std::string& ownerUserns) = 0;
  // Unpins and removes any of them; a missing path is fine.
  virtual Result<> unpin(const std::string& path) = 0;
  // net.* sysctls written inside the network namespace pinned at `netns`.
  virtual Result<> applyNetSysctls(const std::string& netns, const std::map<std::string, std::string>& sysctls) = 0;

  // The pod's /dev/shm, a tmpfs of `bytes`; unmounting is fine when not mounted.
  virtual Result<> mountShm(const std::string& at, int64_t bytes) = 0;
  virtual Result<> unmountShm(const std::string& at) = 0;
  // A privileged pod's read-write sysfs (network::mountSysfs); unmounting
  // is fine when not mounted.
  virtual Result<> mountSysfs(const std::string& netns, const std::string& at) = 0;
  virtual Result<> unmountSysfs(const std::string& at) = 0;

  // Root filesystems (storage/rootfs.h): mounted, unmounted, and removed
  // with the container's directory.
  virtual Result<std::string> mountRootfs(const std::string& id, const std::vector<std::string>& lowers,
                                          const storage::IdMappedLayers* idmap) = 0;
  virtual Result<> unmountRootfs(const std::string& id) = 0;
  // Image volume `n` of container `id`: `lowers` read-only (storage/rootfs.h);
  // returns where. storage::dropCreateMounts undoes it.
  virtual Result<std::string> mountVolumeImage(const std::string& id, size_t n,
                                               const std::vector<std::string>& lowers) = 0;
  virtual Result<> removeContainerDir(const std::string& id) = 0;

  // Removes the cgroup (killing what is left in it); false when there was none.
  virtual Result<bool> destroyCgroup(const std::string& cgroupsPath) = 0;
  // Writes huge page limits (page size → bytes) into a live cgroup: the
  // runtime's update does not carry them.
  virtual Result<> setHugetlbLimits(const std::string& cgroupsPath, const std::map<std::string, uint64_t>& limits) = 0;

  // The pid of container `id`'s conmon while it lives (its pid file is in
  // `bundle`; its command line must name the container, so that a recycled
  // pid is not taken for it), else 0.
  virtual int conmonPid(const std::string& id, const std::string& bundle) const = 0;
};

class SystemHostOps final : public HostOps {
 public:
  explicit SystemHostOps(Paths paths) : paths_(std::move(paths)) {}

  Result<> createUserns(const std::string& path, const std::vector<sys::IdMapping>& uids,
                        const std::vector<sys::IdMapping>& gids) override;
  Result<> createNetns(const std::string& path, const std::string& ownerUserns) override;
  Result<> createIpcUts(const std::string& ipcPath, const std::string& utsPath, const std::string& hostname,
                        const std::string& ownerUserns) override;
  Result<> unpin(const std::string& path) override;
  Result<> applyNetSysctls(const std::string& netns, const std::map<std::string, std::string>& sysctls) override;
  Result<> mountShm(const std::string& at, int64_t bytes) override;
  Result<> unmountShm(const std::string& at) override;
  Result<> mountSysfs(const std::string& netns, const std::string& at) override;
  Result<> unmountSysfs(const std::string& at) override;
  Result<std::string> mountRootfs(const std::string& id, const std::vector<std::string>& lowers,
                                  const storage::IdMappedLayers* idmap) override;
  Result<> unmountRootfs(const std::string& id) override;
  Result<std::string> mountVolumeImage(const std::string& id, size_t n,
                                       const std::vector<std::string>& lowers) override;
  Result<> removeContainerDir(const std::string& id) override;
  Result<bool> destroyCgroup(const std::string& cgroupsPath) override;
  Result<> setHugetlbLimits(const std::string& cgroupsPath, const std::map<std::string, uint64_t>& limits) override;
  int conmonPid(const std::string& id, const std::string& bundle) const override;

 private:
  const Paths paths_;
};

}  // namespace crix::lifecycle
