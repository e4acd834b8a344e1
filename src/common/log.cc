#include "common/log.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace crix::log {
namespace {

std::atomic<Level> gLevel{Level::Info};

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void appendValue(std::string& out, std::string_view v) {
  if (!needsQuotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  out += '"';
}

}  // namespace

Result<Level> parseLevel(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warn;
  if (name == "error") return Level::Error;
  return fail(Code::InvalidArgument,
              "unknown log level \"" + std::string(name) + "\": want debug, info, warn or error");
}

void setLevel(Level level) {
  gLevel.store(level, std::memory_order_relaxed);
}

bool enabled(Level level) {
  return level >= gLevel.load(std::memory_order_relaxed);
}

std::string format(std::string_view msg, Fields fields) {
  std::string out = "msg=";
  appendValue(out, msg);
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    appendValue(out, f.value);
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[128];
  std::snprintf(stamp, sizeof stamp, "time=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000);
  std::string line = stamp;
  line += levelName(level);
  line += ' ';
  line += format(msg, fields);
  line += '\n';
  // One write per line: lines from different threads never interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace crix::log
