// Identifiers and clocks shared by every layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace crix {

// kIdLength lower-case hex digits from the kernel's random source: pod and
// container IDs.
inline constexpr size_t kIdLength = 64;
std::string newId();

// Nanoseconds since the epoch, as CRI timestamps are.
int64_t nowNs();

}  // namespace crix
