// Linux signals by name, as images spell them (a config's StopSignal:
// "SIGQUIT", "QUIT", "3", "SIGRTMIN+3") and as the CRI's Signal enum does
// ("SIGRTMINPLUS3", "SIGRTMAXMINUS1"). The real-time ones count from 34
// (SIGRTMIN as programs see it: glibc keeps 32 and 33) to 64 (SIGRTMAX).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crix {

// The signal's number, or nothing when the name (or number) is no Linux signal.
std::optional<int> signalNumber(std::string_view name);

// Its name with the SIG prefix ("SIGQUIT", "SIGRTMIN+3"); "" for no signal.
std::string signalName(int number);

}  // namespace crix
