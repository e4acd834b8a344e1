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

using crix::hexOf;

}  // namespace crix::image
