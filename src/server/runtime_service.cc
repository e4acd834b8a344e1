#include "server/runtime_service.h"

#include <nlohmann/json.hpp>

#include "common/version.h"
#include "lifecycle/runtime_config.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

grpc::Status RuntimeService::Version(grpc::ServerContext*, const v1::VersionRequest*, v1::VersionResponse* resp) {
  // "version" is the kubelet's own API version string: it is always 0.1.0.
  resp->set_version("0.1.0");
  resp->set_runtime_name(kRuntimeName);
  resp->set_runtime_version(kVersion);
  resp->set_runtime_api_version(kCriApiVersion);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::Status(grpc::ServerContext*, const v1::StatusRequest* req, v1::StatusResponse* resp) {
  for (const auto& c : health_.conditions()) {
    auto* cond = resp->mutable_status()->add_conditions();
    cond->set_type(c.type);
    cond->set_status(c.status);
    cond->set_reason(c.reason);
    cond->set_message(c.message);
  }
  // Every handler, ready or not; the default once more under "" (the name
  // the kubelet looks up for pods without a RuntimeClass).
  nlohmann::ordered_json verbose = nlohmann::ordered_json::array();
  auto handlers = health_.handlers();
  for (size_t i = 0; i < handlers.size(); ++i) {
    const auto& h = handlers[i];
    for (const std::string& name : i == 0 ? std::vector<std::string>{"", h.name} : std::vector<std::string>{h.name}) {
      auto* out = resp->add_runtime_handlers();
      out->set_name(name);
      out->mutable_features()->set_recursive_read_only_mounts(h.recursiveReadOnlyMounts);
      out->mutable_features()->set_user_namespaces(h.userNamespaces);
    }
    if (!req->verbose()) continue;
    verbose.push_back(
        {{"name", h.name},
         {"type", h.type},
         {"runtime", h.runtime},
         {"monitor", h.monitor},
         {"default", i == 0},
         {"ready", h.ready},
         {"reason", h.reason},
         {"features", {{"recursiveReadOnlyMounts", h.recursiveReadOnlyMounts}, {"userNamespaces", h.userNamespaces}}}});
  }
  // KEP-3619: the Strict policy is honoured (ContainerConfig's security context).
  resp->mutable_features()->set_supplemental_groups_policy(true);
  if (req->verbose()) {
    (*resp->mutable_info())["config"] = config::toJson(cfg_);
    (*resp->mutable_info())["runtimeHandlers"] = verbose.dump();
    const auto& cg = health_.controllers();
    nlohmann::ordered_json controllers{{"mode", cgroups::hostModeName(cg.mode)},
                                       {"controllers", cg.names},
                                       {"hugepageSizes", cg.hugepageSizes},
                                       {"swap", cg.swap}};
    (*resp->mutable_info())["cgroupControllers"] = controllers.dump();
  }
  return grpc::Status::OK;
}

namespace {

grpc::Status noCheckpoints(const char* rpc, const std::string& why) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string(rpc) + ": " + why);
}

}  // namespace

grpc::Status RuntimeService::CheckpointContainer(grpc::ServerContext*, const v1::CheckpointContainerRequest* req,
                                                 v1::CheckpointContainerResponse*) {
  if (req->container_id().empty()) return invalid("CheckpointContainer: container_id is required");
  if (auto c = containers_.get(req->container_id()); !c) return toStatus(c.error());
  return noCheckpoints("CheckpointContainer", health_.checkpointUnavailable());
}

grpc::Status RuntimeService::CheckpointPod(grpc::ServerContext*, const v1::CheckpointPodRequest* req,
                                           v1::CheckpointPodResponse*) {
  if (req->pod_sandbox_id().empty()) return invalid("CheckpointPod: pod_sandbox_id is required");
  if (auto p = pods_.get(req->pod_sandbox_id()); !p) return toStatus(p.error());
  return noCheckpoints("CheckpointPod", health_.checkpointUnavailable());
}

grpc::Status RuntimeService::RestorePod(grpc::ServerContext*, const v1::RestorePodRequest* req,
                                        v1::RestorePodResponse*) {
  if (req->checkpoint_path().empty()) return invalid("RestorePod: checkpoint_path is required");
  return noCheckpoints("RestorePod", health_.checkpointUnavailable());
}

grpc::Status RuntimeService::UpdateRuntimeConfig(grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest* req,
                                                 v1::UpdateRuntimeConfigResponse*) {
  return toStatus(lifecycle::applyPodCidr(cfg_, req->runtime_config().network_config().pod_cidr()));
}

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                           v1::RuntimeConfigResponse* resp) {
  resp->mutable_linux()->set_cgroup_driver(cfg_.cgroupDriver == "systemd" ? v1::CgroupDriver::SYSTEMD
                                                                          : v1::CgroupDriver::CGROUPFS);
  return grpc::Status::OK;
}

}  // namespace crix::server
