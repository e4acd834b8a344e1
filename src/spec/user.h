// Resolving a container's user from its own /etc/passwd and /etc/group
// (never the host's). Pure: the caller reads the files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::spec {

struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::string name;              // empty when the uid has no entry
  std::vector<uint32_t> groups;  // supplementary groups the image gives the user
};

// `user` as in the image config's User: "name", "uid", "name:group",
// "uid:gid". A name that /etc/passwd lacks is an error; a uid need not exist.
// A uid or gid beyond 32 bits, in `user` or in an entry the user needs, is an
// InvalidArgument error; entries the user does not need are not read.
Result<ResolvedUser> resolveUser(const std::string& user, const std::string& passwd, const std::string& group);

}  // namespace crix::spec
