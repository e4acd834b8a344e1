#include "sys/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::sys {
namespace {

// The kernel takes at most this many lines per map (since Linux 4.15).
constexpr size_t kMaxMappings = 340;

std::string mapText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.containerId) + " " + std::to_string(m.hostId) + " " + std::to_string(m.length) + "\n";
  return out;
}

// The whole map goes in one write, as the kernel requires.
Result<> writeMap(pid_t pid, const char* file, const std::string& text) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return failErrno("open " + path, errno);
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return failErrno("write " + path, errno);
  if (static_cast<size_t>(n) != text.size()) return fail(Code::Internal, "short write to " + path);
  return {};
}

int unshareUser(void*) {
  return ::unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
}

struct IpcUts {
  int usernsFd = -1;  // join this user namespace first, unless -1
  int flags = 0;      // CLONE_NEWIPC, CLONE_NEWUTS
  const char* hostname = nullptr;
  size_t hostnameLen = 0;
};

// 0 or an errno; async-signal-safe, for a forked child too.
int unshareIpcUts(void* arg) {
  const auto* a = static_cast<const IpcUts*>(arg);
  if (a->usernsFd >= 0 && ::setns(a->usernsFd, CLONE_NEWUSER) != 0) return errno;
  if (::unshare(a->flags) != 0) return errno;
  if ((a->flags & CLONE_NEWUTS) && a->hostnameLen > 0 && ::sethostname(a->hostname, a->hostnameLen) != 0) return errno;
  return 0;
}

}  // namespace

Result<> pinNamespace(const std::string& nsFile, const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!file.valid()) return failErrno("create namespace pin " + path, errno);
  file.reset();
  if (::mount(nsFile.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return failErrno("pin " + nsFile + " at " + path, err);
  }
  return {};
}

Result<> unpinNamespace(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return failErrno("unpin namespace " + path, errno);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("remove " + path, errno);
  return {};
}

Result<> inNamespaceChild(int (*setup)(void*), void* arg, const std::function<Result<>(pid_t)>& withChild) {
  int report[2], hold[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return failErrno("pipe", errno);
  UniqueFd reportRead(report[0]), reportWrite(report[1]);
  if (::pipe2(hold, O_CLOEXEC) != 0) return failErrno("pipe", errno);
  UniqueFd holdRead(hold[0]), holdWrite(hold[1]);
  pid_t pid = ::fork();
  if (pid < 0) return failErrno("fork", errno);
  if (pid == 0) {
    int err = setup(arg);
    (void)!::write(report[1], &err, sizeof err);
    ::close(hold[1]);
    char byte;
    // Until the parent is done with the namespace (it closes its end).
    while (::read(hold[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  reportWrite.reset();
  holdRead.reset();
  int err = 0;
  ssize_t n;
  do n = ::read(reportRead.get(), &err, sizeof err);
  while (n < 0 && errno == EINTR);
  Result<> result;
  if (n != sizeof err)
    result = fail(Code::Internal, "namespace helper process died before reporting");
  else if (err != 0)
    result = failErrno("set up namespaces", err);
  else
    result = withChild(pid);
  holdWrite.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

Result<> createIpcUts(const std::string& ipcPath, const std::string& utsPath, const std::string& hostname,
                      const std::string& ownerUserns) {
  IpcUts a;
  a.flags = (ipcPath.empty() ? 0 : CLONE_NEWIPC) | (utsPath.empty() ? 0 : CLONE_NEWUTS);
  if (a.flags == 0) return {};
  if (hostname.size() > 64) return fail(Code::InvalidArgument, "hostname \"" + hostname + "\" is longer than 64 bytes");
  a.hostname = hostname.c_str();
  a.hostnameLen = hostname.size();
  // Pins from the namespaces of `task` (a thread or a process), undone if the second fails.
  auto pin = [&](const std::string& task) -> Result<> {
    if (!ipcPath.empty()) TRY(pinNamespace(task + "/ns/ipc", ipcPath));
    if (!utsPath.empty()) {
      if (auto pinned = pinNamespace(task + "/ns/uts", utsPath); !pinned) {
        if (!ipcPath.empty()) (void)unpinNamespace(ipcPath);
        return pinned;
      }
    }
    return {};
  };
  if (!ownerUserns.empty()) {
    // setns into a user namespace needs a single-threaded process: a child.
    UniqueFd userns(::open(ownerUserns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns.valid()) return failErrno("open user namespace " + ownerUserns, errno);
    a.usernsFd = userns.get();
    return inNamespaceChild(unshareIpcUts, &a, [&](pid_t pid) { return pin("/proc/" + std::to_string(pid)); });
  }
  // unshare changes only the calling thread's IPC and UTS namespaces: do it
  // on a short-lived thread so that crixd's own threads stay in the host's.
  Result<> result;
  std::thread worker([&] {
    if (int err = unshareIpcUts(&a); err != 0) {
      result = failErrno("unshare IPC and UTS namespaces", err);
      return;
    }
    result = pin("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)));
  });
  worker.join();
  return result;
}

Result<> checkIdMappings(const std::vector<IdMapping>& maps, const std::string& what) {
  if (maps.empty()) return fail(Code::InvalidArgument, what + ": no mappings");
  if (maps.size() > kMaxMappings)
    return fail(Code::InvalidArgument, what + ": " + std::to_string(maps.size()) + " mappings, the kernel takes " +
                                           std::to_string(kMaxMappings));
  constexpr uint64_t kIds = uint64_t{1} << 32;
  for (size_t i = 0; i < maps.size(); ++i) {
    const auto& m = maps[i];
    if (m.length == 0) return fail(Code::InvalidArgument, what + ": a mapping of length 0");
    if (uint64_t{m.containerId} + m.length > kIds || uint64_t{m.hostId} + m.length > kIds)
      return fail(Code::InvalidArgument, what + ": a mapping runs past the last id");
    for (size_t j = 0; j < i; ++j) {
      const auto& o = maps[j];
      auto overlap = [](uint64_t a, uint64_t al, uint64_t b, uint64_t bl) { return a < b + bl && b < a + al; };
      if (overlap(m.containerId, m.length, o.containerId, o.length) || overlap(m.hostId, m.length, o.hostId, o.length))
        return fail(Code::InvalidArgument, what + ": mappings overlap");
    }
  }
  return {};
}

bool hostIdOf(const std::vector<IdMapping>& maps, uint32_t containerId, uint32_t* hostId) {
  for (const auto& m : maps)
    if (containerId >= m.containerId && containerId - m.containerId < m.length) {
      *hostId = m.hostId + (containerId - m.containerId);
      return true;
    }
  return false;
}

Result<> createUserns(const std::string& path, const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids) {
  TRY(checkIdMappings(uids, "uid mappings"));
  TRY(checkIdMappings(gids, "gid mappings"));
  std::string uidText = mapText(uids), gidText = mapText(gids);
  return inNamespaceChild(unshareUser, nullptr, [&](pid_t pid) -> Result<> {
    TRY(writeMap(pid, "uid_map", uidText));
    TRY(writeMap(pid, "gid_map", gidText));
    return pinNamespace("/proc/" + std::to_string(pid) + "/ns/user", path);
  });
}

}  // namespace crix::sys
