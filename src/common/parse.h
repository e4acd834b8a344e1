// Numbers from untrusted text without exceptions: the whole of `text` must
// be the number (no sign for unsigned types, no spaces), and it must fit T.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace crix {

template <typename T>
std::optional<T> parseNumber(std::string_view text, int base = 10) {
  T value{};
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace crix
