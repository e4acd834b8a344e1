#include "common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace crix {

const std::vector<std::string_view>& faultPoints() {
  static const std::vector<std::string_view> points = {
      "pull-before-commit",       "pod-after-intent",       "pod-after-netns",        "pod-after-cni",
      "pod-after-files",          "pod-after-infra-rootfs", "pod-after-infra-create", "pod-after-infra",
      "pod-after-persist",        "ctr-after-intent",       "ctr-after-rootfs",       "ctr-after-bundle",
      "ctr-after-runtime-create", "ctr-after-persist",      "start-after-runtime",    "start-after-persist",
      "stop-after-intent",        "stop-after-infra",       "stop-after-cni",         "stop-after-netns",
      "stop-after-persist"};
  return points;
}

void faultPoint(std::string_view step) {
  static const std::string armed = [] {
    const char* v = std::getenv("CRIX_FAULT");
    std::string name(v ? v : "");
    const auto& known = faultPoints();
    if (!name.empty() && std::find(known.begin(), known.end(), name) == known.end())
      log::warn("CRIX_FAULT names no fault point", {{"step", name}});
    return name;
  }();
  if (armed.empty() || armed != step) return;
  log::error("fault injected: killing crixd", {{"step", step}});
  ::kill(::getpid(), SIGKILL);
}

}  // namespace crix
