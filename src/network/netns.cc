#include "network/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <sstream>
#include <thread>

#include "sys/fs.h"
#include "sys/namespaces.h"
#include "sys/unique_fd.h"

namespace crix::network {
namespace {

// 0 or an errno; async-signal-safe, for a forked child too.
int loopbackUp() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int err = 0;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  ::close(s);
  return err;
}

// In a child: join the user namespace open at *arg, then make the network
// namespace there, so that the namespace is that user namespace's own.
int unshareNetIn(void* arg) {
  if (::setns(*static_cast<int*>(arg), CLONE_NEWUSER) != 0) return errno;
  if (::unshare(CLONE_NEWNET) != 0) return errno;
  return loopbackUp();
}

}  // namespace

Result<> createNetns(const std::string& path, const std::string& ownerUserns) {
  if (!ownerUserns.empty()) {
    // setns into a user namespace needs a single-threaded process: a child.
    sys::UniqueFd userns(::open(ownerUserns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns.valid()) return failErrno("open user namespace " + ownerUserns, errno);
    int fd = userns.get();
    return sys::inNamespaceChild(unshareNetIn, &fd, [&](pid_t pid) {
      return sys::pinNamespace("/proc/" + std::to_string(pid) + "/ns/net", path);
    });
  }
  // unshare changes only the calling thread's namespace: do it on a
  // short-lived thread so that crixd's own threads stay in the host's.
  Result<> result;
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      result = failErrno("unshare network namespace", errno);
      return;
    }
    if (int err = loopbackUp(); err != 0) {
      result = failErrno("bring lo up", err);
      return;
    }
    result = sys::pinNamespace("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net", path);
  });
  worker.join();
  return result;
}

Result<> removeNetns(const std::string& path) {
  return sys::unpinNamespace(path);
}

namespace {

Result<sys::UniqueFd> connectLoopback(uint16_t port) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  v6.sin6_addr = in6addr_loopback;
  int lastErr = 0;
  for (auto [addr, len] : {std::pair<const sockaddr*, socklen_t>{reinterpret_cast<const sockaddr*>(&v4), sizeof v4},
                           {reinterpret_cast<const sockaddr*>(&v6), sizeof v6}}) {
    sys::UniqueFd s(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) {
      lastErr = errno;
      continue;
    }
    if (::connect(s.get(), addr, len) == 0) return s;
    lastErr = errno;
  }
  return failErrno("connect to localhost:" + std::to_string(port), lastErr);
}

// Runs `fn` on a short-lived thread inside the namespace pinned at `path`,
// so that crixd's own threads stay in the host's.
template <typename T>
Result<T> inNetns(const std::string& path, const std::function<Result<T>()>& fn) {
  sys::UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return failErrno("open network namespace " + path, errno);
  Result<T> result = fail(Code::Internal, "not run");
  std::thread worker([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = failErrno("enter network namespace " + path, errno);
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

Result<std::vector<InterfaceStats>> readInterfaceStats() {
  // thread-self: /proc/net follows the process's first thread, not this one.
  auto text = TRY(sys::readFile("/proc/thread-self/net/dev"));
  std::vector<InterfaceStats> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    InterfaceStats s;
    s.name = line.substr(0, colon);
    s.name.erase(0, s.name.find_first_not_of(' '));
    if (s.name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[16] = {};
    for (auto& f : v) fields >> f;
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs ...
    s.rxBytes = v[0];
    s.rxPackets = v[1];
    s.rxErrors = v[2];
    s.rxDropped = v[3];
    s.txBytes = v[8];
    s.txPackets = v[9];
    s.txErrors = v[10];
    s.txDropped = v[11];
    out.push_back(s);
  }
  return out;
}

}  // namespace

Result<sys::UniqueFd> connectLocalPort(const std::string& path, uint16_t port) {
  if (path.empty()) return connectLoopback(port);
  return inNetns<sys::UniqueFd>(path, [&] { return connectLoopback(port); });
}

Result<std::vector<InterfaceStats>> interfaceStats(const std::string& path) {
  return inNetns<std::vector<InterfaceStats>>(path, readInterfaceStats);
}

Result<> mountSysfs(const std::string& netns, const std::string& at) {
  TRY(sys::mkdirAll(at, 0755));
  return inNetns<bool>(netns,
                       [&]() -> Result<bool> {
                         // sysfs shows the mounting thread's network namespace.
                         if (::mount("sysfs", at.c_str(), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
                           return failErrno("mount sysfs at " + at, errno);
                         return true;
                       })
      .map([](bool) {});
}

bool isNetns(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

}  // namespace crix::network
