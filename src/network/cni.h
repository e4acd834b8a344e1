// The CNI client: runs the plugins of the default network configuration
// (the first conflist in the config directory) as the CNI spec (1.0, 1.1)
// says: one exec per plugin with CNI_* variables and the plugin's config
// on stdin.
//
//   ADD     every plugin in order, each given the previous one's result
//   DEL     every plugin in reverse order, given ADD's final result
//   CHECK   every plugin in order, given ADD's final result; not for lists
//           below 0.4.0 (no CHECK then) or with "disableCheck": true
//   STATUS  every plugin, no container variables; only for lists of 1.1.0
//           or later (older plugins do not know the command)
//
// The list's version is the highest that crix speaks (up to 1.1.0) of its
// "cniVersion" and "cniVersions".
//
// Every ADD writes its attachment to a cache first (the network config,
// the arguments and, once known, the result), so that DEL and CHECK after a
// crash or a restart run with exactly what ADD used, even if the
// configuration directory changed since:
//
//   <root>/cni/<container-id>.json   (Paths::cniAttachment; the CNI container ID is the pod's)
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/paths.h"

namespace crix::network {

struct PortMapping {
  std::string protocol = "tcp";  // tcp, udp, sctp
  int32_t containerPort = 0;
  int32_t hostPort = 0;
  std::string hostIp;
  bool operator==(const PortMapping&) const = default;
};

struct Attachment {
  std::string containerId;
  std::string netnsPath;
  std::string ifName = "eth0";
  std::map<std::string, std::string> args;                       // CNI_ARGS: K8S_POD_NAME, K8S_POD_NAMESPACE, ...
  std::vector<PortMapping> portMappings;                         // capability "portMappings"
  std::vector<std::string> dnsServers, dnsSearches, dnsOptions;  // capability "dns"
  int64_t ingressRate = 0, egressRate = 0;                       // bits/s, capability "bandwidth"
};

struct NetworkStatus {
  std::string network;           // the network's name
  std::vector<std::string> ips;  // addresses on the pod's interface, IPv4 first
  std::string result;            // the final CNI result JSON
};

// Where the world begins for pod networking; fakes stand in for unit tests.
class NetworkPlugin {
 public:
  virtual ~NetworkPlugin() = default;
  virtual Result<NetworkStatus> add(const Attachment& a) = 0;
  // Tears down what add set up; fine when nothing was set up.
  virtual Result<> del(const std::string& containerId) = 0;
  // Whether what add set up is still as it was: the first plugin's error if
  // not, NotFound when nothing is added for the container.
  virtual Result<> check(const std::string& containerId) = 0;
  // Whether pods can be added: the error says why not.
  virtual Result<> status() = 0;
};

class CniNetwork final : public NetworkPlugin {
 public:
  // STATUS answers are kept for `statusCacheFor`, so that frequent readiness
  // polls run no plugin each time; a change to the configuration is seen at once.
  // Attachments are cached in paths.cniCacheDir().
  CniNetwork(std::string configDir, std::vector<std::string> pluginDirs, Paths paths,
             std::chrono::milliseconds statusCacheFor = std::chrono::seconds(2))
      : configDir_(std::move(configDir)),
        pluginDirs_(std::move(pluginDirs)),
        paths_(std::move(paths)),
        statusCacheFor_(statusCacheFor) {}

  Result<NetworkStatus> add(const Attachment& a) override;
  Result<> del(const std::string& containerId) override;
  Result<> check(const std::string& containerId) override;
  // Ready when the default network's configuration loads and all its
  // plugins are found, and (1.1.0 and later) each plugin answers STATUS.
  Result<> status() override;

 private:
  std::string configDir_;
  std::vector<std::string> pluginDirs_;
  Paths paths_;
  std::chrono::milliseconds statusCacheFor_;
  std::mutex statusMu_;       // held across STATUS runs: concurrent callers share one
  std::string statusConfig_;  // the list that statusResult_ answers for
  std::chrono::steady_clock::time_point statusAt_;
  Result<> statusResult_;
};

// Whether CNI version `version` ("1.0.0") is `min` or later; false when
// either does not parse.
bool cniVersionAtLeast(std::string_view version, std::string_view min);

// The pod's addresses in a CNI result (1.0, 0.4 or 0.3 form): those on
// interfaces inside the sandbox, IPv4 first; without interfaces, all.
Result<std::vector<std::string>> podIps(const std::string& resultJson);

}  // namespace crix::network
