#include "lifecycle/runtime_health.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "cgroups/host_layout.h"
#include "lifecycle/runtimes.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::lifecycle {
namespace {

// Why CRIU cannot checkpoint here: missing, or what `criu check` says
// (its last error line names the kernel feature it lacks).
std::string criuUnavailable(const std::string& name) {
  auto path = sys::lookPath(name);
  if (!path) return "criu is not installed (" + path.error().message() + ")";
  auto out = sys::runCommand({*path, "check"}, {.timeout = std::chrono::seconds(30)});
  if (!out) return "criu check: " + out.error().message();
  if (out->exitCode == 0) return "crix cannot checkpoint or restore yet (criu check passes here)";
  std::string text = out->err.empty() ? out->out : out->err;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ';');
  return "criu check fails on this host: " + text;
}

}  // namespace

RuntimeHealth::RuntimeHealth(const config::Config& cfg, network::NetworkPlugin& net,
                             const cgroups::Controllers& controllers, const Runtimes& runtimes, std::string criu)
    : cfg_(cfg),
      net_(net),
      controllers_(controllers),
      runtimes_(runtimes),
      criu_(std::async(std::launch::async, criuUnavailable, std::move(criu)).share()) {}

std::string RuntimeHealth::checkpointUnavailable() const {
  return criu_.get();
}

HandlerStatus RuntimeHealth::check(const std::string& name, const config::RuntimeHandler& h) {
  HandlerStatus st;
  st.name = name;
  st.type = h.type;
  st.userNamespaces = !isSandboxed(h);
  st.runtime = h.path;
  st.monitor = h.monitorPath.empty() ? cfg_.conmon : h.monitorPath;
  std::vector<std::string> problems;
  if (auto monitor = probe_.check(st.monitor); monitor)
    st.monitor = *monitor;
  else
    problems.push_back("monitor: " + monitor.error().message());
  if (auto runtime = probe_.check(h.path); runtime) {
    st.runtime = *runtime;
    if (auto refusal = cgroupRefusal(*runtime, cgroups::readHostLayout())) problems.push_back(*refusal);
  } else {
    problems.push_back(runtime.error().message());
  }
  if (!h.baseSpec.empty()) {
    auto text = sys::readFile(h.baseSpec);
    if (!text)
      problems.push_back("base spec: " + text.error().message());
    else if (!nlohmann::json::parse(*text, nullptr, false).is_object())
      problems.push_back("base spec " + h.baseSpec + ": not a JSON object");
  }
  for (const auto& p : problems) st.reason += (st.reason.empty() ? "" : "; ") + p;
  st.ready = problems.empty();
  st.recursiveReadOnlyMounts = st.ready && runtimes_.recursiveReadOnly(name).has_value();
  return st;
}

std::vector<HandlerStatus> RuntimeHealth::handlers() {
  std::vector<HandlerStatus> out = {check(cfg_.defaultRuntime, cfg_.runtimes.at(cfg_.defaultRuntime))};
  for (const auto& [name, h] : cfg_.runtimes)
    if (name != cfg_.defaultRuntime) out.push_back(check(name, h));
  return out;
}

std::vector<Condition> RuntimeHealth::conditions() {
  Condition runtime{"RuntimeReady", true, "", ""};
  auto def = check(cfg_.defaultRuntime, cfg_.runtimes.at(cfg_.defaultRuntime));
  if (!def.ready) {
    runtime.status = false;
    runtime.reason = "RuntimeBinaryNotReady";
    runtime.message = "runtime handler " + def.name + ": " + def.reason;
  }

  Condition network{"NetworkReady", true, "", ""};
  if (auto ready = net_.status(); !ready) {
    network.status = false;
    network.reason = "NetworkPluginNotReady";
    network.message = ready.error().message();
  }
  Condition checkpoint{"CheckpointRestoreReady", false, "CriuUnavailable", checkpointUnavailable()};
  return {runtime, network, checkpoint};
}

}  // namespace crix::lifecycle
