#include "lifecycle/runtime_health.h"

#include <nlohmann/json.hpp>

#include "cgroups/host_layout.h"
#include "lifecycle/runtimes.h"
#include "sys/fs.h"

namespace crix::lifecycle {

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
  return {runtime, network};
}

}  // namespace crix::lifecycle
