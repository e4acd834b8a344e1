#include "fakes/fake_host_ops.h"

#include <unistd.h>

#include <filesystem>

#include "sys/fs.h"

namespace crix::test {

void FakeHostOps::failNext(const std::string& op, Error err) {
  std::lock_guard lock(mu_);
  failures_[op].push_back(std::move(err));
}

void FakeHostOps::setImageFiles(std::string passwd, std::string group) {
  std::lock_guard lock(mu_);
  passwd_ = std::move(passwd);
  group_ = std::move(group);
}

void FakeHostOps::setConmonLive(const std::string& id, bool live) {
  std::lock_guard lock(mu_);
  if (live)
    live_.insert(id);
  else
    live_.erase(id);
}

void FakeHostOps::addCgroup(const std::string& cgroupsPath) {
  std::lock_guard lock(mu_);
  cgroups_.insert(cgroupsPath);
}

std::vector<FakeHostOps::Call> FakeHostOps::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

int FakeHostOps::count(const std::string& op) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& c : calls_) n += c.op == op;
  return n;
}

std::set<std::string> FakeHostOps::pinned() const {
  std::lock_guard lock(mu_);
  return pinned_;
}

std::set<std::string> FakeHostOps::shmMounts() const {
  std::lock_guard lock(mu_);
  return shm_;
}

std::set<std::string> FakeHostOps::sysfsMounts() const {
  std::lock_guard lock(mu_);
  return sysfs_;
}

std::set<std::string> FakeHostOps::rootfsMounts() const {
  std::lock_guard lock(mu_);
  return rootfs_;
}

Result<> FakeHostOps::enter(const std::string& op, const std::string& arg) {
  calls_.push_back({op, arg});
  auto it = failures_.find(op);
  if (it == failures_.end() || it->second.empty()) return {};
  Error err = std::move(it->second.front());
  it->second.pop_front();
  return fail(std::move(err));
}

Result<> FakeHostOps::pinLocked(const std::string& path, const std::string& text) {
  if (pinned_.count(path) || ::access(path.c_str(), F_OK) == 0)
    return fail(Code::AlreadyExists, "namespace pin " + path + " exists");
  TRY(sys::writeFileAtomic(path, text));
  pinned_.insert(path);
  return {};
}

Result<> FakeHostOps::createUserns(const std::string& path, const std::vector<sys::IdMapping>& uids,
                                   const std::vector<sys::IdMapping>& gids) {
  std::lock_guard lock(mu_);
  TRY(enter("createUserns", path));
  TRY(sys::checkIdMappings(uids, "uid mappings"));
  TRY(sys::checkIdMappings(gids, "gid mappings"));
  return pinLocked(path, "user");
}

Result<> FakeHostOps::createNetns(const std::string& path, const std::string& ownerUserns) {
  std::lock_guard lock(mu_);
  TRY(enter("createNetns", path));
  return pinLocked(path, ownerUserns.empty() ? "net" : "net of " + ownerUserns);
}

Result<> FakeHostOps::createIpcUts(const std::string& ipcPath, const std::string& utsPath, const std::string& hostname,
                                   const std::string&) {
  std::lock_guard lock(mu_);
  TRY(enter("createIpcUts", ipcPath + "|" + utsPath));
  if (!ipcPath.empty()) TRY(pinLocked(ipcPath, "ipc"));
  if (!utsPath.empty()) {
    if (auto pinned = pinLocked(utsPath, "uts " + hostname); !pinned) {
      // As the real one: nothing is left at either path.
      if (!ipcPath.empty()) {
        ::unlink(ipcPath.c_str());
        pinned_.erase(ipcPath);
      }
      return pinned;
    }
  }
  return {};
}

Result<> FakeHostOps::unpin(const std::string& path) {
  std::lock_guard lock(mu_);
  TRY(enter("unpin", path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("remove " + path, errno);
  pinned_.erase(path);
  return {};
}

Result<> FakeHostOps::applyNetSysctls(const std::string& netns, const std::map<std::string, std::string>&) {
  std::lock_guard lock(mu_);
  TRY(enter("applyNetSysctls", netns));
  if (!pinned_.count(netns)) return fail(Code::Internal, "join " + netns + ": no such namespace");
  return {};
}

Result<> FakeHostOps::mountShm(const std::string& at, int64_t) {
  std::lock_guard lock(mu_);
  TRY(enter("mountShm", at));
  TRY(sys::mkdirAll(at, 0755));
  shm_.insert(at);
  return {};
}

Result<> FakeHostOps::unmountShm(const std::string& at) {
  std::lock_guard lock(mu_);
  TRY(enter("unmountShm", at));
  shm_.erase(at);
  return {};
}

Result<> FakeHostOps::mountSysfs(const std::string& netns, const std::string& at) {
  std::lock_guard lock(mu_);
  TRY(enter("mountSysfs", at));
  if (!pinned_.count(netns)) return fail(Code::Internal, "join " + netns + ": no such namespace");
  TRY(sys::mkdirAll(at, 0755));
  sysfs_.insert(at);
  return {};
}

Result<> FakeHostOps::unmountSysfs(const std::string& at) {
  std::lock_guard lock(mu_);
  TRY(enter("unmountSysfs", at));
  sysfs_.erase(at);
  return {};
}

Result<std::string> FakeHostOps::mountRootfs(const std::string& id, const std::vector<std::string>&,
                                             const storage::IdMappedLayers*) {
  std::lock_guard lock(mu_);
  TRY(enter("mountRootfs", id));
  std::string rootfs = paths_.containerRootfs(id);
  TRY(sys::mkdirAll(paths_.containerUpper(id), 0755));
  TRY(sys::mkdirAll(rootfs + "/etc", 0755));
  TRY(sys::writeFileAtomic(rootfs + "/etc/passwd", passwd_));
  TRY(sys::writeFileAtomic(rootfs + "/etc/group", group_));
  rootfs_.insert(id);
  return rootfs;
}

Result<> FakeHostOps::unmountRootfs(const std::string& id) {
  std::lock_guard lock(mu_);
  TRY(enter("unmountRootfs", id));
  rootfs_.erase(id);
  return {};
}

Result<std::string> FakeHostOps::mountVolumeImage(const std::string& id, size_t n,
                                                  const std::vector<std::string>& lowers) {
  std::lock_guard lock(mu_);
  std::string arg = id + "|" + std::to_string(n) + "|";
  for (size_t i = 0; i < lowers.size(); ++i) arg += (i ? ":" : "") + lowers[i];
  TRY(enter("mountVolumeImage", arg));
  std::string at = paths_.containerVolumeImage(id, n);
  std::error_code ec;
  std::filesystem::create_directories(at, ec);
  if (ec) return fail(Code::Internal, "mkdir " + at + ": " + ec.message());
  return at;
}

Result<> FakeHostOps::removeContainerDir(const std::string& id) {
  std::lock_guard lock(mu_);
  TRY(enter("removeContainerDir", id));
  rootfs_.erase(id);
  std::error_code ec;
  std::filesystem::remove_all(paths_.containerDir(id), ec);
  if (ec) return fail(Code::Internal, "remove " + paths_.containerDir(id) + ": " + ec.message());
  return {};
}

Result<bool> FakeHostOps::destroyCgroup(const std::string& cgroupsPath) {
  std::lock_guard lock(mu_);
  TRY(enter("destroyCgroup", cgroupsPath));
  return cgroups_.erase(cgroupsPath) > 0;
}

Result<> FakeHostOps::setHugetlbLimits(const std::string& cgroupsPath, const std::map<std::string, uint64_t>& limits) {
  std::lock_guard lock(mu_);
  std::string arg = cgroupsPath + "|";
  for (const auto& [size, bytes] : limits) arg += (arg.back() == '|' ? "" : ",") + size + "=" + std::to_string(bytes);
  return enter("setHugetlbLimits", arg);
}

int FakeHostOps::conmonPid(const std::string& id, const std::string&) const {
  std::lock_guard lock(mu_);
  // Beyond any pid_max: a kill of it finds no process.
  return live_.count(id) ? kFakeConmonPid : 0;
}

}  // namespace crix::test
