// Answers "does this binary exist and run?" cheaply enough to ask on every
// CRI Status call: the binary is run (with --version) only when its path,
// inode or mtime changed since the last answer; otherwise a stat suffices.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/error.h"

namespace crix::sys {

class ExecutableProbe {
 public:
  // OK with the resolved path, or why the binary cannot be used.
  Result<std::string> check(const std::string& name);

 private:
  struct Seen {
    ino_t ino = 0;
    timespec mtime{};
    bool ok = false;
    std::string message;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Seen> seen_;
};

}  // namespace crix::sys
