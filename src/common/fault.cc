#include "common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/parse.h"

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

namespace {

struct Armed {
  std::string point;
  bool fail = false;  // fail once instead of crashing
  int delayMs = 0;    // sleep once instead of crashing
};

const Armed& armed() {
  static const Armed a = [] {
    const char* v = std::getenv("CRIX_FAULT");
    Armed out;
    out.point = v ? v : "";
    if (out.point.starts_with("fail:")) {
      out.fail = true;
      out.point.erase(0, 5);
    } else if (out.point.starts_with("delay:")) {
      // delay:<point>:<ms>
      out.point.erase(0, 6);
      auto colon = out.point.rfind(':');
      auto ms = colon == std::string::npos ? std::nullopt : parseNumber<int>(out.point.substr(colon + 1));
      if (!ms) {
        log::warn("CRIX_FAULT delay needs <point>:<milliseconds>", {{"step", out.point}});
        out.point.clear();
        return out;
      }
      out.delayMs = *ms;
      out.point.erase(colon);
    }
    const auto& known = faultPoints();
    if (!out.point.empty() && std::find(known.begin(), known.end(), out.point) == known.end())
      log::warn("CRIX_FAULT names no fault point", {{"step", out.point}});
    return out;
  }();
  return a;
}

}  // namespace

Result<> faultPoint(std::string_view step) {
  const Armed& a = armed();
  if (a.point.empty() || a.point != step) return {};
  if (a.delayMs > 0) {
    static std::atomic<bool> delayed{false};
    if (delayed.exchange(true)) return {};
    log::warn("fault injected: delaying the operation", {{"step", step}, {"ms", a.delayMs}});
    std::this_thread::sleep_for(std::chrono::milliseconds(a.delayMs));
    return {};
  }
  if (a.fail) {
    static std::atomic<bool> fired{false};
    if (fired.exchange(true)) return {};
    log::error("fault injected: failing the operation", {{"step", step}});
    return fail(Code::Internal, "fault injected at " + std::string(step));
  }
  log::error("fault injected: killing crixd", {{"step", step}});
  ::kill(::getpid(), SIGKILL);
  return {};
}

}  // namespace crix
