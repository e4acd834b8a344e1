// Recognising a container's conmon by its command line, not by a pid file
// alone: a recycled pid runs something else.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace crix::lifecycle {

// The value after `flag` in argv, or "".
inline std::string argAfter(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) return args[i + 1];
  return "";
}

inline bool isConmon(const std::vector<std::string>& args) {
  return !args.empty() && std::filesystem::path(args[0]).filename().string().starts_with("conmon");
}

}  // namespace crix::lifecycle
