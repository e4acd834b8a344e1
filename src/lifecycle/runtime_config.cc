#include "lifecycle/runtime_config.h"

#include "common/log.h"
#include "network/conf_template.h"
#include "sys/fs.h"

namespace crix::lifecycle {

Result<> applyPodCidr(const config::Config& cfg, const std::string& podCidrs) {
  if (cfg.cniConfTemplate.empty() || podCidrs.empty()) return {};
  auto text = TRY_CTX(sys::readFile(cfg.cniConfTemplate), "network.conf_template");
  std::string conf = TRY(network::renderConfTemplate(text, podCidrs));
  TRY(sys::mkdirAll(cfg.cniConfigDir, 0755));
  std::string path = cfg.cniConfigDir + "/" + network::kTemplateConfName;
  TRY(sys::writeFileAtomic(path, conf, 0644));
  log::info("wrote the CNI configuration for the pod CIDR", {{"pod_cidr", podCidrs}, {"path", path}});
  return {};
}

}  // namespace crix::lifecycle
