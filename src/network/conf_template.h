// UpdateRuntimeConfig's CNI configuration: a template in which each
// "{{.PodCIDR}}" becomes the pod CIDR the kubelet sends (the same idea as
// containerd's conf_template, with only that one field).
#pragma once

#include <string>

#include "common/error.h"

namespace crix::network {

// The file name the rendered configuration gets in the CNI config dir.
inline constexpr const char* kTemplateConfName = "10-crix-template.conflist";

// `podCidrs` is the kubelet's field, comma-separated for a dual-stack node:
// its first CIDR goes in. InvalidArgument when it is not a CIDR, when the
// template names no {{.PodCIDR}} or uses another template field, or when
// the result is not a JSON object.
Result<std::string> renderConfTemplate(const std::string& text, const std::string& podCidrs);

}  // namespace crix::network
