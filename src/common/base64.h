// Base64 (RFC 4648): the standard alphabet with padding, and the URL-safe
// alphabet without it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crix {

std::string base64Encode(std::string_view in);
std::string base64UrlEncode(std::string_view in);  // no padding
// Standard alphabet; padding optional. Nothing for invalid input.
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace crix
