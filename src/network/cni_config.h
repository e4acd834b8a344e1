// Finding the CNI network configuration that pods will use.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace crix::network {

struct NetworkConfigFile {
  std::string path;
  std::string name;  // the network's "name"
};

// The loadable network configurations in dir (*.conflist, *.conf, *.json),
// in name order, as the CNI convention picks them: the first one is the
// default network. Files that do not parse, or lack a name or plugin, are
// skipped; the error lists why when none is usable.
Result<std::vector<NetworkConfigFile>> findNetworkConfigs(const std::string& dir);

}  // namespace crix::network
