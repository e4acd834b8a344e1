// Structured logging to stderr in logfmt, one write(2) per line:
//   time=2026-11-22T16:00:00.123456Z level=info msg="serving" socket=/run/crix/crix.sock
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/error.h"

namespace crix::log {

enum class Level { Debug, Info, Warn, Error };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <typename N>
  requires std::is_arithmetic_v<N> Field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}

  std::string_view key;
  std::string value;
};

using Fields = std::initializer_list<Field>;

Result<Level> parseLevel(std::string_view name);
void setLevel(Level level);
bool enabled(Level level);

void write(Level level, std::string_view msg, Fields fields);
inline void debug(std::string_view msg, Fields f = {}) {
  write(Level::Debug, msg, f);
}
inline void info(std::string_view msg, Fields f = {}) {
  write(Level::Info, msg, f);
}
inline void warn(std::string_view msg, Fields f = {}) {
  write(Level::Warn, msg, f);
}
inline void error(std::string_view msg, Fields f = {}) {
  write(Level::Error, msg, f);
}

// Renders `msg="..." k=v ...` (exposed for tests).
std::string format(std::string_view msg, Fields fields);

}  // namespace crix::log
