#include "network/conf_template.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "common/parse.h"

namespace crix::network {
namespace {

constexpr std::string_view kField = "{{.PodCIDR}}";

bool isCidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  std::string addr = s.substr(0, slash);
  unsigned char buf[16];
  bool v4 = ::inet_pton(AF_INET, addr.c_str(), buf) == 1, v6 = ::inet_pton(AF_INET6, addr.c_str(), buf) == 1;
  auto bits = parseNumber<int>(std::string_view(s).substr(slash + 1));
  return (v4 || v6) && bits && *bits >= 0 && *bits <= (v4 ? 32 : 128);
}

}  // namespace

Result<std::string> renderConfTemplate(const std::string& text, const std::string& podCidrs) {
  std::string cidr = podCidrs.substr(0, podCidrs.find(','));
  if (!isCidr(cidr)) return fail(Code::InvalidArgument, "pod CIDR \"" + cidr + "\" is not a CIDR");
  std::string out;
  size_t uses = 0;
  for (size_t at = 0;;) {
    size_t open = text.find("{{", at);
    if (open == std::string::npos) {
      out += text.substr(at);
      break;
    }
    if (text.compare(open, kField.size(), kField) != 0)
      return fail(Code::InvalidArgument, "CNI conf template: only {{.PodCIDR}} can be filled in, not \"" +
                                             text.substr(open, text.find("}}", open) - open + 2) + "\"");
    out += text.substr(at, open - at) + cidr;
    at = open + kField.size();
    ++uses;
  }
  if (uses == 0) return fail(Code::InvalidArgument, "CNI conf template: no {{.PodCIDR}} in it");
  if (!nlohmann::json::parse(out, nullptr, false).is_object())
    return fail(Code::InvalidArgument, "CNI conf template: not a JSON object once filled in");
  return out;
}

}  // namespace crix::network
