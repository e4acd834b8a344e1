// UpdateRuntimeConfig: the kubelet's pod CIDR, for a node whose network
// plugin needs it ([network] conf_template, network/conf_template.h).
#pragma once

#include <string>

#include "common/error.h"
#include "config/config.h"

namespace crix::lifecycle {

// With a template configured and a CIDR given: writes the filled-in
// template to cni_config_dir (atomically; NetworkReady follows once the
// plugin reads it). Without either: OK, nothing changes. An unreadable
// template or a bad CIDR is an error naming it.
Result<> applyPodCidr(const config::Config& cfg, const std::string& podCidrs);

}  // namespace crix::lifecycle
