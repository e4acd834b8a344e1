// Unix-socket helpers for the daemon's listening socket.
#pragma once

#include <string>

#include "common/error.h"

namespace crix::sys {

// Prepares `path` for a new listener: creates its parent directories,
// removes a stale socket file that nobody serves any more, and refuses
// (FailedPrecondition) when a live process still accepts connections on it
// or the path is something other than a socket.
Result<> claimSocketPath(const std::string& path);

}  // namespace crix::sys
