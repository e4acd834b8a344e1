// Exec, Attach and PortForward: each checks its request and answers with a
// URL on the streaming server, where the client then connects.
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

// At least one stream, and no stderr with a terminal (it is merged into stdout).
grpc::Status checkStreams(const char* rpc, bool in, bool out, bool err, bool tty) {
  if (!in && !out && !err) return invalid(std::string(rpc) + ": one of stdin, stdout and stderr must be set");
  if (tty && err) return invalid(std::string(rpc) + ": tty and stderr cannot both be set");
  return grpc::Status::OK;
}

}  // namespace

grpc::Status RuntimeService::Exec(grpc::ServerContext*, const v1::ExecRequest* req, v1::ExecResponse* resp) {
  if (req->container_id().empty()) return invalid("Exec: container_id is required");
  if (req->cmd().empty()) return invalid("Exec: cmd is required");
  if (auto s = checkStreams("Exec", req->stdin(), req->stdout(), req->stderr(), req->tty()); !s.ok()) return s;
  auto c = containers_.get(req->container_id());
  if (!c) return toStatus(c.error());
  if (c->state != lifecycle::ContainerState::Running)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "Exec: container " + c->id + " is not running");
  streaming::ExecRequest r{
      c->id, {req->cmd().begin(), req->cmd().end()}, req->tty(), req->stdin(), req->stdout(), req->stderr()};
  auto url = streaming_.url(r);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::Attach(grpc::ServerContext*, const v1::AttachRequest* req, v1::AttachResponse* resp) {
  if (req->container_id().empty()) return invalid("Attach: container_id is required");
  if (auto s = checkStreams("Attach", req->stdin(), req->stdout(), req->stderr(), req->tty()); !s.ok()) return s;
  auto c = containers_.get(req->container_id());
  if (!c) return toStatus(c.error());
  if (c->state != lifecycle::ContainerState::Running)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "Attach: container " + c->id + " is not running");
  if (req->stdin() && !c->config.stdin)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "Attach: container " + c->id + " was created without stdin");
  streaming::AttachRequest r{c->id, req->tty(), req->stdin(), req->stdout(), req->stderr()};
  auto url = streaming_.url(r);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::PortForward(grpc::ServerContext*, const v1::PortForwardRequest* req,
                                         v1::PortForwardResponse* resp) {
  if (req->pod_sandbox_id().empty()) return invalid("PortForward: pod_sandbox_id is required");
  for (int32_t port : req->port())
    if (port < 1 || port > 65535) return invalid("PortForward: port " + std::to_string(port) + " is out of range");
  auto pod = pods_.get(req->pod_sandbox_id());
  if (!pod) return toStatus(pod.error());
  if (pod->state != lifecycle::SandboxState::Ready)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "PortForward: pod " + pod->id + " is not ready");
  streaming::PortForwardRequest r{pod->id, {req->port().begin(), req->port().end()}};
  auto url = streaming_.url(r);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace crix::server
