// Resolving an object by its full ID or a unique prefix of it, as the CRI
// tools allow.
#pragma once

#include <map>
#include <string>

#include "common/error.h"

namespace crix::lifecycle {

// `kind` names the object in errors ("pod sandbox", "container").
template <typename T>
Result<std::string> resolveIdPrefix(const std::map<std::string, T>& byId, const std::string& idOrPrefix,
                                    const std::string& kind) {
  if (byId.count(idOrPrefix)) return idOrPrefix;
  std::string found;
  for (const auto& [id, object] : byId) {
    if (idOrPrefix.empty() || !id.starts_with(idOrPrefix)) continue;
    if (!found.empty()) return fail(Code::InvalidArgument, kind + " id prefix \"" + idOrPrefix + "\" is ambiguous");
    found = id;
  }
  if (found.empty()) return fail(Code::NotFound, kind + " \"" + idOrPrefix + "\" not found");
  return found;
}

}  // namespace crix::lifecycle
