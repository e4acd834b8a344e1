// SHA-256 digests in the OCI form "sha256:<hex>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.h"

namespace crix::image {

using crix::sha256;
using crix::Sha256;

// OCI chain IDs: chain[0] = diff[0], chain[i] = sha256(chain[i-1] + " " + diff[i]).
std::vector<std::string> chainIds(const std::vector<std::string>& diffIds);

// The hex part of "sha256:<hex>".
inline std::string_view hexOf(std::string_view digest) {
  auto colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

}  // namespace crix::image
