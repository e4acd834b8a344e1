// The CNI client: runs the plugins of the default network configuration
// (the first conflist in the config directory) as the CNI 1.0 spec says:
// one exec per plugin with CNI_* variables and the plugin's config on stdin.
//
// Every ADD writes its attachment to a cache first (the network config,
// the arguments and, once known, the result), so that DEL after a crash or
// a restart runs with exactly what ADD used, even if the configuration
// directory changed since:
//
//   <root>/cni/<container-id>.json
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::network {

struct PortMapping {
  std::string protocol = "tcp";  // tcp, udp, sctp
  int32_t containerPort = 0;
  int32_t hostPort = 0;
  std::string hostIp;
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
};

class CniNetwork final : public NetworkPlugin {
 public:
  CniNetwork(std::string configDir, std::vector<std::string> pluginDirs, std::string cacheDir)
      : configDir_(std::move(configDir)), pluginDirs_(std::move(pluginDirs)), cacheDir_(std::move(cacheDir)) {}

  Result<NetworkStatus> add(const Attachment& a) override;
  Result<> del(const std::string& containerId) override;

 private:
  std::string configDir_;
  std::vector<std::string> pluginDirs_;
  std::string cacheDir_;
};

// The pod's addresses in a CNI result (1.0, 0.4 or 0.3 form): those on
// interfaces inside the sandbox, IPv4 first; without interfaces, all.
Result<std::vector<std::string>> podIps(const std::string& resultJson);

}  // namespace crix::network
