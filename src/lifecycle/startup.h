// The order of start-up recovery, apart from the daemon's wiring, so that
// it is unit-tested (tests/lifecycle/startup_test.cc). Before the socket is
// served:
//
//   1 kill stray helpers   runc and CNI plugins the dead crixd started, before anything is read
//   2 load pods            rows; half-done RunPodSandbox/StopPodSandbox noted
//   3 load containers      rows; half-done CreateContainer rolled back, the rest reconciled
//   4 watch exits          the exit monitor starts, then every exit file is read once
//   5 recover pods         half-made pods undone, half-stopped ones stopped
//   6 sweep orphans        what no row owns (lifecycle/recovery.h), knowing the objects of 2-5
//
// A failing load, watch or recovery stops start-up with its error; the
// sweep only counts (each object it cannot remove is logged).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "common/error.h"
#include "lifecycle/recovery.h"

namespace crix::lifecycle {

struct StartupSteps {
  std::function<int()> killStrayHelpers;
  std::function<Result<>()> loadPods, loadContainers, watchExits, recoverPods;
  std::function<KnownObjects()> knownObjects;
  std::function<int(const KnownObjects&)> sweepOrphans;
};

struct StartupReport {
  int strayHelpers = 0, orphans = 0;
  size_t pods = 0, containers = 0;
  std::chrono::microseconds took{0};
};

Result<StartupReport> recoverAtStartup(const StartupSteps& steps);

}  // namespace crix::lifecycle
