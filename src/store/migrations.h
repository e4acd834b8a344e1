// The schema, as an ordered list of forward migrations. Migration i takes
// the database from user_version i to i+1. Never edit a shipped entry:
// append a new one.
#pragma once

#include <string_view>
#include <vector>

namespace crix::store {

const std::vector<std::string_view>& migrations();

}  // namespace crix::store
