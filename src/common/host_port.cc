#include "common/host_port.h"

#include <charconv>

namespace crix {

Result<HostPort> parseHostPort(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "bad address \"" + std::string(text) + "\": " + why);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("want host:port");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return bad("unbalanced brackets around an IPv6 address");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address goes in brackets, as in [::1]:9090");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return bad("the port must be a number in 0..65535");
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace crix
