// A runtime handler's own rules over a built OCI spec: which pod and
// container annotations pass through, privileged containers without the
// host's devices, and an operator's base spec under ours. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace crix::spec {

// Whether `key` is on an allow-list whose entries are exact keys or
// prefixes written "p.*" (every key that starts with "p.").
bool annotationAllowed(const std::vector<std::string>& allowed, const std::string& key);

// The annotations that pass through to a spec: the allowed pod annotations,
// then the allowed container annotations (which win over the pod's). Keys
// under io.kubernetes.cri. are crix's own and never pass.
std::map<std::string, std::string> passedAnnotations(const std::vector<std::string>& allowed,
                                                     const std::map<std::string, std::string>& pod,
                                                     const std::map<std::string, std::string>& container);

// `built` over `base` (an operator's config.json for the handler): objects
// merge key by key, anything else (arrays too) is replaced by ours.
nlohmann::json overBaseSpec(const nlohmann::json& base, const nlohmann::json& built);

}  // namespace crix::spec
