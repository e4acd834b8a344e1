#include "lifecycle/pod_files.h"

#include <arpa/inet.h>
#include <sys/mount.h>

#include <cerrno>

#include "sys/fs.h"

namespace crix::lifecycle {

Result<> validateDns(const PodConfig& c) {
  for (const auto& s : c.dnsServers) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
      return fail(Code::InvalidArgument, "dns_config: server \"" + s + "\" is not an IP address");
  }
  auto plain = [](const std::string& v) { return !v.empty() && v.find_first_of(" \t\n\r#;") == std::string::npos; };
  for (const auto& s : c.dnsSearches)
    if (!plain(s)) return fail(Code::InvalidArgument, "dns_config: invalid search domain \"" + s + "\"");
  for (const auto& o : c.dnsOptions)
    if (!plain(o)) return fail(Code::InvalidArgument, "dns_config: invalid option \"" + o + "\"");
  return {};
}

std::string resolvConf(const PodConfig& c, const std::string& hostResolvConf) {
  if (c.dnsServers.empty() && c.dnsSearches.empty() && c.dnsOptions.empty()) return hostResolvConf;
  std::string out;
  for (const auto& s : c.dnsServers) out += "nameserver " + s + "\n";
  auto line = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += key;
    for (const auto& x : v) out += " " + x;
    out += "\n";
  };
  line("search", c.dnsSearches);
  line("options", c.dnsOptions);
  return out;
}

std::string hostsFile(const std::string& hostname, const std::vector<std::string>& ips) {
  std::string out =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";
  for (const auto& ip : ips) out += ip + "\t" + hostname + "\n";
  return out;
}

Result<> writePodFiles(const Paths& paths, const Sandbox& s) {
  const auto& c = s.config;
  bool hostNet = c.network == NamespaceMode::Node;
  std::string hostname = podHostname(c);
  TRY(sys::writeFileAtomic(paths.podHostname(s.id), hostname + "\n"));
  auto hostResolv = sys::readFile("/etc/resolv.conf");
  TRY(sys::writeFileAtomic(paths.podResolvConf(s.id), resolvConf(c, hostResolv ? *hostResolv : "")));
  if (hostNet) {
    auto hostHosts = sys::readFile("/etc/hosts");
    TRY(sys::writeFileAtomic(paths.podHosts(s.id), hostHosts ? *hostHosts : hostsFile(hostname, {})));
  } else {
    TRY(sys::writeFileAtomic(paths.podHosts(s.id), hostsFile(hostname, s.ips)));
  }
  return {};
}

Result<> mountShm(const std::string& shm, int64_t bytes) {
  TRY(sys::mkdirAll(shm, 0755));
  std::string opts = "mode=1777,size=" + std::to_string(bytes);
  if (::mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0)
    return failErrno("mount shm at " + shm, errno);
  return {};
}

Result<> unmountShm(const std::string& shm) {
  if (::umount2(shm.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return failErrno("unmount " + shm, errno);
  return {};
}

}  // namespace crix::lifecycle
