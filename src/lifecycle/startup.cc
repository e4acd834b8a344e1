#include "lifecycle/startup.h"

namespace crix::lifecycle {

Result<StartupReport> recoverAtStartup(const StartupSteps& steps) {
  auto started = std::chrono::steady_clock::now();
  StartupReport report;
  report.strayHelpers = steps.killStrayHelpers();
  TRY_CTX(steps.loadPods(), "load pods");
  TRY_CTX(steps.loadContainers(), "load containers");
  TRY_CTX(steps.watchExits(), "watch exits");
  TRY_CTX(steps.recoverPods(), "recover pods");
  KnownObjects known = steps.knownObjects();
  report.pods = known.pods.size();
  report.containers = known.containers.size();
  report.orphans = steps.sweepOrphans(known);
  report.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  return report;
}

}  // namespace crix::lifecycle
