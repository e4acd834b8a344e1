// "host:port" addresses, as the [metrics] address key takes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace crix {

struct HostPort {
  std::string host;  // empty: every interface; IPv6 without its brackets
  uint16_t port = 0;
};

// Splits "127.0.0.1:9090", "localhost:9090", "[::1]:9090" or ":9090".
// The port must be 0..65535 (0: any free port); the host is not resolved
// here.
Result<HostPort> parseHostPort(std::string_view text);

}  // namespace crix
