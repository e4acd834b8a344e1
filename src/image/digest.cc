#include "image/digest.h"

namespace crix::image {

std::vector<std::string> chainIds(const std::vector<std::string>& diffIds) {
  std::vector<std::string> out;
  for (const auto& diff : diffIds) out.push_back(out.empty() ? diff : sha256(out.back() + " " + diff));
  return out;
}

}  // namespace crix::image
