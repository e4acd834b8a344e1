// The composition root: turns a validated Config into a serving daemon.
#pragma once

#include "config/config.h"

namespace crix::cmd {

// Serves CRI until SIGTERM or SIGINT, then drains in-flight calls (up to
// the configured shutdown timeout), closes the database and returns the
// process exit code. Termination signals must already be blocked in the
// calling thread, before any other thread exists.
int runDaemon(const config::Config& cfg);

}  // namespace crix::cmd
