#include "spec/handler_spec.h"

namespace crix::spec {

using nlohmann::json;

bool annotationAllowed(const std::vector<std::string>& allowed, const std::string& key) {
  for (const auto& a : allowed) {
    if (a == key) return true;
    if (!a.ends_with(".*")) continue;
    std::string prefix = a.substr(0, a.size() - 1);  // keeps the dot
    if (key.size() > prefix.size() && key.starts_with(prefix)) return true;
  }
  return false;
}

std::map<std::string, std::string> passedAnnotations(const std::vector<std::string>& allowed,
                                                     const std::map<std::string, std::string>& pod,
                                                     const std::map<std::string, std::string>& container) {
  std::map<std::string, std::string> out;
  for (const auto* source : {&pod, &container})
    for (const auto& [k, v] : *source)
      if (!k.starts_with("io.kubernetes.cri.") && annotationAllowed(allowed, k)) out[k] = v;
  return out;
}

json overBaseSpec(const json& base, const json& built) {
  if (!base.is_object() || !built.is_object()) return built;
  json out = base;
  for (const auto& [k, v] : built.items()) out[k] = out.contains(k) ? overBaseSpec(out[k], v) : v;
  return out;
}

}  // namespace crix::spec
