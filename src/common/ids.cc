#include "common/ids.h"

#include <sys/random.h>

#include <chrono>
#include <cstdlib>

namespace crix {

std::string newId() {
  unsigned char b[32];
  if (::getrandom(b, sizeof b, 0) != sizeof b) std::abort();  // the kernel's entropy is never short here
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) id += {hex[c >> 4], hex[c & 15]};
  return id;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace crix
