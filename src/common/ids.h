// Identifiers and clocks shared by every layer.
#pragma once

#include <cstdint>
#include <string>

namespace crix {

// 64 lower-case hex digits from the kernel's random source: pod and
// container IDs.
std::string newId();

// Nanoseconds since the epoch, as CRI timestamps are.
int64_t nowNs();

}  // namespace crix
