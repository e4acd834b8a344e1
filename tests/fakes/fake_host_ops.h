// Fake host operations, all inside the test's temp dir: a pinned namespace
// is a plain file holding its kind (and the hostname, for a UTS one), a
// shm "mount" and a root filesystem are directories (the rootfs gets the
// image's /etc/passwd and /etc/group from setImageFiles), a cgroup is a name
// in a set, and a conmon lives while its container is in the live set.
//
// Every call is recorded in order; a test can make the next call of an
// operation fail (failNext). Thread-safe.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lifecycle/host_ops.h"

namespace crix::test {

class FakeHostOps final : public lifecycle::HostOps {
 public:
  struct Call {
    std::string op;   // createUserns, createNetns, createIpcUts, unpin, applyNetSysctls, mountShm, unmountShm,
                      // mountSysfs, unmountSysfs,
                      // mountRootfs, unmountRootfs, mountVolumeImage, removeContainerDir,
                      // destroyCgroup, setHugetlbLimits
    std::string arg;  // the path, id or cgroups path (createIpcUts: "<ipc>|<uts>";
                      // setHugetlbLimits: "<cgroups path>|2MB=<bytes>,...";
                      // mountVolumeImage: "<id>|<n>|<lower>:<lower>...")
    bool operator==(const Call&) const = default;
  };

  static constexpr int kFakeConmonPid = 1 << 30;  // beyond any pid_max: no process has it

  explicit FakeHostOps(Paths paths) : paths_(std::move(paths)) {}

  // The next call of `op` fails with `err` (queued: one failure per call).
  void failNext(const std::string& op, Error err);
  // What every root filesystem mounted from now on holds at /etc/passwd and /etc/group.
  void setImageFiles(std::string passwd, std::string group);
  // conmonPid(id) answers kFakeConmonPid while `id` is live.
  void setConmonLive(const std::string& id, bool live);
  // A cgroup that destroyCgroup will find (and then remove).
  void addCgroup(const std::string& cgroupsPath);

  std::vector<Call> calls() const;
  int count(const std::string& op) const;
  // Pins, shm and sysfs mounts and rootfs mounts made and not yet undone.
  std::set<std::string> pinned() const;
  std::set<std::string> shmMounts() const;
  std::set<std::string> sysfsMounts() const;
  std::set<std::string> rootfsMounts() const;

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
  // Under mu_: records the call and returns its injected failure, if any.
  Result<> enter(const std::string& op, const std::string& arg);
  // Under mu_: a pin file at `path` holding `text`.
  Result<> pinLocked(const std::string& path, const std::string& text);

  const Paths paths_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  std::map<std::string, std::deque<Error>> failures_;
  std::string passwd_ = "root:x:0:0:root:/root:/bin/sh\n", group_ = "root:x:0:\n";
  std::set<std::string> live_, cgroups_, pinned_, shm_, sysfs_, rootfs_;
};

}  // namespace crix::test
