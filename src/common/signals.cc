#include "common/signals.h"

#include <array>
#include <utility>

#include "common/parse.h"

namespace crix {
namespace {

constexpr int kRtMin = 34, kRtMax = 64;

// The first name of a number is its canonical one (SIGABRT, not SIGIOT).
constexpr std::array<std::pair<std::string_view, int>, 34> kNames = {{
    {"HUP", 1},   {"INT", 2},    {"QUIT", 3},    {"ILL", 4},   {"TRAP", 5},  {"ABRT", 6},  {"IOT", 6},
    {"BUS", 7},   {"FPE", 8},    {"KILL", 9},    {"USR1", 10}, {"SEGV", 11}, {"USR2", 12}, {"PIPE", 13},
    {"ALRM", 14}, {"TERM", 15},  {"STKFLT", 16}, {"CHLD", 17}, {"CLD", 17},  {"CONT", 18}, {"STOP", 19},
    {"TSTP", 20}, {"TTIN", 21},  {"TTOU", 22},   {"URG", 23},  {"XCPU", 24}, {"XFSZ", 25}, {"VTALRM", 26},
    {"PROF", 27}, {"WINCH", 28}, {"IO", 29},     {"POLL", 29}, {"PWR", 30},  {"SYS", 31},
}};

// "RTMIN", "RTMIN+n" / "RTMINPLUSn", "RTMAX", "RTMAX-n" / "RTMAXMINUSn".
std::optional<int> realTime(std::string_view s) {
  auto offset = [](std::string_view rest, std::string_view sep1, std::string_view sep2) -> std::optional<int> {
    if (rest.empty()) return 0;
    if (rest.starts_with(sep1))
      rest.remove_prefix(sep1.size());
    else if (rest.starts_with(sep2))
      rest.remove_prefix(sep2.size());
    else
      return std::nullopt;
    return parseNumber<int>(rest);
  };
  std::optional<int> n;
  if (s.starts_with("RTMIN")) {
    if (auto off = offset(s.substr(5), "+", "PLUS")) n = kRtMin + *off;
  } else if (s.starts_with("RTMAX")) {
    if (auto off = offset(s.substr(5), "-", "MINUS")) n = kRtMax - *off;
  }
  if (n && *n >= kRtMin && *n <= kRtMax) return n;
  return std::nullopt;
}

}  // namespace

std::optional<int> signalNumber(std::string_view name) {
  if (auto n = parseNumber<int>(name)) return *n >= 1 && *n <= kRtMax ? n : std::nullopt;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& [n, number] : kNames)
    if (n == name) return number;
  return realTime(name);
}

std::string signalName(int number) {
  for (const auto& [n, num] : kNames)
    if (num == number) return "SIG" + std::string(n);
  if (number == kRtMin) return "SIGRTMIN";
  if (number == kRtMax) return "SIGRTMAX";
  if (number > kRtMin && number < kRtMax) {
    // As kill -l names them: the lower half from RTMIN, the upper from RTMAX.
    if (number - kRtMin <= 15) return "SIGRTMIN+" + std::to_string(number - kRtMin);
    return "SIGRTMAX-" + std::to_string(kRtMax - number);
  }
  return "";
}

}  // namespace crix
