// Crash points for recovery tests: crixd kills itself (SIGKILL, no
// clean-up) at a named step when the environment variable CRIX_FAULT names
// that step. Off unless set; the variable is read once.
#pragma once

#include <string_view>

namespace crix {

void faultPoint(std::string_view step);

}  // namespace crix
