// The streaming server's view of crixd: exec and attach through the
// containers' OCI runtime and conmon, port-forward into the pods' network
// namespaces.
#pragma once

#include "lifecycle/container_manager.h"
#include "lifecycle/pod_manager.h"
#include "streaming/backend.h"

namespace crix::server {

class StreamingBackend final : public streaming::Backend {
 public:
  StreamingBackend(lifecycle::ContainerManager& containers, lifecycle::PodManager& pods)
      : containers_(containers), pods_(pods) {}

  Result<std::unique_ptr<streaming::Session>> exec(const streaming::ExecRequest& req) override;
  Result<std::unique_ptr<streaming::Session>> attach(const streaming::AttachRequest& req) override;
  Result<sys::UniqueFd> connect(const std::string& sandboxId, uint16_t port) override;

 private:
  lifecycle::ContainerManager& containers_;
  lifecycle::PodManager& pods_;
};

}  // namespace crix::server
