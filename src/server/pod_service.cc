// RuntimeService's pod calls: CRI messages in, lifecycle::PodManager calls,
// CRI messages out.
#include <nlohmann/json.hpp>

#include "server/convert.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crix::server {

namespace v1 = ::runtime::v1;
using lifecycle::NamespaceMode;

namespace {

lifecycle::PodConfig fromCri(const v1::PodSandboxConfig& c, const std::string& handler) {
  lifecycle::PodConfig p;
  p.metadata = {c.metadata().name(), c.metadata().uid(), c.metadata().namespace_(), c.metadata().attempt()};
  p.hostname = c.hostname();
  p.logDirectory = c.log_directory();
  p.dnsServers = {c.dns_config().servers().begin(), c.dns_config().servers().end()};
  p.dnsSearches = {c.dns_config().searches().begin(), c.dns_config().searches().end()};
  p.dnsOptions = {c.dns_config().options().begin(), c.dns_config().options().end()};
  for (const auto& pm : c.port_mappings()) {
    std::string proto = pm.protocol() == v1::Protocol::UDP    ? "udp"
                        : pm.protocol() == v1::Protocol::SCTP ? "sctp"
                                                              : "tcp";
    p.portMappings.push_back({proto, pm.container_port(), pm.host_port(), pm.host_ip()});
  }
  p.labels = {c.labels().begin(), c.labels().end()};
  p.annotations = {c.annotations().begin(), c.annotations().end()};
  const auto& linux = c.linux();
  p.cgroupParent = linux.cgroup_parent();
  p.sysctls = {linux.sysctls().begin(), linux.sysctls().end()};
  const auto& ns = linux.security_context().namespace_options();
  p.network = static_cast<NamespaceMode>(ns.network());
  p.pid = static_cast<NamespaceMode>(ns.pid());
  p.ipc = static_cast<NamespaceMode>(ns.ipc());
  // Absent, it is the host's (the message's zero value would say POD).
  if (ns.has_userns_options()) {
    const auto& u = ns.userns_options();
    p.userns = static_cast<NamespaceMode>(u.mode());
    for (const auto& m : u.uids()) p.uidMappings.push_back({m.container_id(), m.host_id(), m.length()});
    for (const auto& m : u.gids()) p.gidMappings.push_back({m.container_id(), m.host_id(), m.length()});
  }
  p.privileged = linux.security_context().privileged();
  if (linux.security_context().has_apparmor()) p.apparmorProfile = apparmorFromCri(linux.security_context().apparmor());
  p.selinuxLabel = selinuxFromCri(linux.security_context().selinux_options());
  p.runtimeHandler = handler;
  p.resources = resourcesFromCri(linux.resources());
  p.overhead = resourcesFromCri(linux.overhead());
  return p;
}

v1::PodSandboxState state(const lifecycle::Sandbox& s) {
  return s.state == lifecycle::SandboxState::Ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

// step → milliseconds (to the microsecond), in the order the steps ran,
// then "total".
nlohmann::ordered_json startupBreakdown(const lifecycle::StartupBreakdown& b) {
  auto ms = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count() / 1000) / 1000.0; };
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& step : b.steps()) out[step.name] = ms(step.duration);
  out["total"] = ms(b.total());
  return out;
}

}  // namespace

void fillPodMetadata(const lifecycle::Sandbox& s, v1::PodSandboxMetadata* m) {
  m->set_name(s.config.metadata.name);
  m->set_uid(s.config.metadata.uid);
  m->set_namespace_(s.config.metadata.ns);
  m->set_attempt(s.config.metadata.attempt);
}

void fillPodStatus(const lifecycle::Sandbox& s, v1::PodSandboxStatus* st) {
  st->set_id(s.id);
  fillPodMetadata(s, st->mutable_metadata());
  st->set_state(state(s));
  st->set_created_at(s.createdAt);
  if (!s.ips.empty()) {
    st->mutable_network()->set_ip(s.ips.front());
    for (size_t i = 1; i < s.ips.size(); ++i) st->mutable_network()->add_additional_ips()->set_ip(s.ips[i]);
  }
  auto* ns = st->mutable_linux()->mutable_namespaces()->mutable_options();
  ns->set_network(static_cast<v1::NamespaceMode>(s.config.network));
  ns->set_pid(static_cast<v1::NamespaceMode>(s.config.pid));
  ns->set_ipc(static_cast<v1::NamespaceMode>(s.config.ipc));
  auto* userns = ns->mutable_userns_options();
  userns->set_mode(static_cast<v1::NamespaceMode>(s.config.userns));
  auto mappings = [](const std::vector<sys::IdMapping>& from, auto* to) {
    for (const auto& m : from) {
      auto* out = to->Add();
      out->set_container_id(m.containerId);
      out->set_host_id(m.hostId);
      out->set_length(m.length);
    }
  };
  mappings(s.config.uidMappings, userns->mutable_uids());
  mappings(s.config.gidMappings, userns->mutable_gids());
  st->mutable_labels()->insert(s.config.labels.begin(), s.config.labels.end());
  st->mutable_annotations()->insert(s.config.annotations.begin(), s.config.annotations.end());
  st->set_runtime_handler(s.handler);
}

grpc::Status RuntimeService::RunPodSandbox(grpc::ServerContext* ctx, const v1::RunPodSandboxRequest* req,
                                           v1::RunPodSandboxResponse* resp) {
  if (!req->has_config()) return invalid("RunPodSandbox: config is required");
  auto id = pods_.run(fromCri(req->config(), req->runtime_handler()), clientGone(ctx));
  if (!id) return toStatus(id.error());
  resp->set_pod_sandbox_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StopPodSandbox(grpc::ServerContext*, const v1::StopPodSandboxRequest* req,
                                            v1::StopPodSandboxResponse*) {
  if (req->pod_sandbox_id().empty()) return invalid("StopPodSandbox: pod_sandbox_id is required");
  return toStatus(pods_.stop(req->pod_sandbox_id()));
}

grpc::Status RuntimeService::RemovePodSandbox(grpc::ServerContext*, const v1::RemovePodSandboxRequest* req,
                                              v1::RemovePodSandboxResponse*) {
  if (req->pod_sandbox_id().empty()) return invalid("RemovePodSandbox: pod_sandbox_id is required");
  return toStatus(pods_.remove(req->pod_sandbox_id()));
}

grpc::Status RuntimeService::PodSandboxStatus(grpc::ServerContext*, const v1::PodSandboxStatusRequest* req,
                                              v1::PodSandboxStatusResponse* resp) {
  auto s = pods_.get(req->pod_sandbox_id());
  if (!s) return toStatus(s.error());
  fillPodStatus(*s, resp->mutable_status());
  if (req->verbose()) {
    // Ordered, so that the breakdown lists the steps in the order they ran.
    auto info = nlohmann::ordered_json::parse(lifecycle::toJson(*s));
    if (!s->startup.steps().empty()) info["startupBreakdown"] = startupBreakdown(s->startup);
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::UpdatePodSandboxResources(grpc::ServerContext*,
                                                       const v1::UpdatePodSandboxResourcesRequest* req,
                                                       v1::UpdatePodSandboxResourcesResponse*) {
  if (req->pod_sandbox_id().empty()) return invalid("UpdatePodSandboxResources: pod_sandbox_id is required");
  for (const auto* l : {&req->resources(), &req->overhead()})
    if (l->memory_limit_in_bytes() < 0 || l->cpu_shares() < 0 || l->cpu_quota() < -1 || l->cpu_period() < 0)
      return invalid("UpdatePodSandboxResources: negative limits");
  return toStatus(pods_.updateResources(req->pod_sandbox_id(), resourcesFromCri(req->resources()),
                                        resourcesFromCri(req->overhead())));
}

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*, const v1::ListPodSandboxRequest* req,
                                            v1::ListPodSandboxResponse* resp) {
  lifecycle::PodFilter f;
  if (req->has_filter()) {
    f.idPrefix = req->filter().id();
    if (req->filter().has_state())
      f.state = req->filter().state().state() == v1::SANDBOX_READY ? lifecycle::SandboxState::Ready
                                                                   : lifecycle::SandboxState::NotReady;
    f.labels = {req->filter().label_selector().begin(), req->filter().label_selector().end()};
  }
  for (const auto& s : pods_.list(f)) {
    auto* p = resp->add_items();
    p->set_id(s.id);
    fillPodMetadata(s, p->mutable_metadata());
    p->set_state(state(s));
    p->set_created_at(s.createdAt);
    p->mutable_labels()->insert(s.config.labels.begin(), s.config.labels.end());
    p->mutable_annotations()->insert(s.config.annotations.begin(), s.config.annotations.end());
    p->set_runtime_handler(s.handler);
  }
  return grpc::Status::OK;
}

}  // namespace crix::server
