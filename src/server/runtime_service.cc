#include "server/runtime_service.h"

#include "common/version.h"

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
  if (req->verbose()) (*resp->mutable_info())["config"] = config::toJson(cfg_);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                           v1::RuntimeConfigResponse* resp) {
  resp->mutable_linux()->set_cgroup_driver(cfg_.cgroupDriver == "systemd" ? v1::CgroupDriver::SYSTEMD
                                                                          : v1::CgroupDriver::CGROUPFS);
  return grpc::Status::OK;
}

}  // namespace crix::server
