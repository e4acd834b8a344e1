// RuntimeService's container calls: CRI messages in, lifecycle calls,
// CRI messages out.
#include <algorithm>
#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/signals.h"
#include "server/convert.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crix::server {

namespace v1 = ::runtime::v1;
using lifecycle::ContainerState;

std::string apparmorFromCri(const v1::SecurityProfile& p) {
  switch (p.profile_type()) {
    case v1::SecurityProfile::Localhost: return "localhost/" + p.localhost_ref();
    case v1::SecurityProfile::Unconfined: return "unconfined";
    default: return "runtime/default";
  }
}

std::string selinuxFromCri(const v1::SELinuxOption& o) {
  std::string label = o.user() + ":" + o.role() + ":" + o.type() + ":" + o.level();
  return label == ":::" ? "" : label;
}

namespace {

// The CRI's seccomp choice in its string form; lifecycle parses and checks it.
std::string seccompProfile(const v1::LinuxContainerSecurityContext& sc) {
  if (sc.has_seccomp()) {
    switch (sc.seccomp().profile_type()) {
      case v1::SecurityProfile::RuntimeDefault: return "runtime/default";
      case v1::SecurityProfile::Localhost: return "localhost/" + sc.seccomp().localhost_ref();
      default: return "unconfined";
    }
  }
  // The deprecated string form is still what critest and older kubelets send.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return sc.seccomp_profile_path();
#pragma GCC diagnostic pop
}

}  // namespace

spec::Resources resourcesFromCri(const v1::LinuxContainerResources& r) {
  spec::Resources out;
  out.cpuShares = r.cpu_shares();
  out.cpuQuota = r.cpu_quota();
  out.cpuPeriod = r.cpu_period();
  out.memoryLimit = r.memory_limit_in_bytes();
  out.cpusetCpus = r.cpuset_cpus();
  out.cpusetMems = r.cpuset_mems();
  out.memorySwap = r.memory_swap_limit_in_bytes();
  for (const auto& h : r.hugepage_limits()) out.hugepageLimits[h.page_size()] = h.limit();
  out.unified = {r.unified().begin(), r.unified().end()};
  return out;
}

namespace {

// The CRI's Signal as its number: 0 for RUNTIME_DEFAULT, -1 for a value
// the enum does not have.
int signalFromCri(v1::Signal s) {
  if (s == v1::SIGNAL_RUNTIME_DEFAULT) return 0;
  const std::string& name = v1::Signal_Name(s);  // "SIGNAL_SIGQUIT"; "" when s is no value of the enum
  if (!name.starts_with("SIGNAL_")) return -1;
  return signalNumber(std::string_view(name).substr(7)).value_or(-1);
}

// Every ContainerStatus asks: the enum value of each signal number, built once.
v1::Signal signalToCri(int number) {
  static const std::map<int, v1::Signal> byNumber = [] {
    std::map<int, v1::Signal> out;
    for (int v = v1::Signal_MIN; v <= v1::Signal_MAX; ++v)
      if (v1::Signal_IsValid(v) && v != v1::SIGNAL_RUNTIME_DEFAULT)
        out.emplace(signalFromCri(static_cast<v1::Signal>(v)), static_cast<v1::Signal>(v));  // first name wins
    return out;
  }();
  auto it = byNumber.find(number);
  return it == byNumber.end() ? v1::SIGNAL_RUNTIME_DEFAULT : it->second;
}

lifecycle::ContainerConfig fromCri(const v1::ContainerConfig& c) {
  lifecycle::ContainerConfig k;
  k.name = c.metadata().name();
  k.attempt = c.metadata().attempt();
  k.image = c.image().image();
  k.command = {c.command().begin(), c.command().end()};
  k.args = {c.args().begin(), c.args().end()};
  for (const auto& e : c.envs()) k.envs.push_back(e.key() + "=" + e.value());
  k.workingDir = c.working_dir();
  for (const auto& m : c.mounts()) {
    std::string prop = m.propagation() == v1::PROPAGATION_HOST_TO_CONTAINER ? "rslave"
                       : m.propagation() == v1::PROPAGATION_BIDIRECTIONAL   ? "rshared"
                                                                            : "rprivate";
    spec::Mount mount{m.container_path(), m.host_path(), m.readonly(), prop, m.recursive_read_only()};
    mount.image = m.image().image();
    mount.imageSubPath = m.image_sub_path();
    k.mounts.push_back(std::move(mount));
  }
  for (const auto& d : c.devices()) k.devices.push_back({d.container_path(), d.host_path(), d.permissions()});
  k.labels = {c.labels().begin(), c.labels().end()};
  k.annotations = {c.annotations().begin(), c.annotations().end()};
  for (const auto& d : c.cdi_devices()) k.cdiDevices.push_back(d.name());
  // The older form: annotations cdi.k8s.io/<anything> = "name[,name...]".
  for (const auto& [key, value] : c.annotations()) {
    if (!key.starts_with("cdi.k8s.io/")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      if (!name.empty() && std::find(k.cdiDevices.begin(), k.cdiDevices.end(), name) == k.cdiDevices.end())
        k.cdiDevices.emplace_back(name);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  k.logPath = c.log_path();
  k.stdin = c.stdin();
  k.stdinOnce = c.stdin_once();
  k.tty = c.tty();
  const auto& sc = c.linux().security_context();
  k.privileged = sc.privileged();
  k.readonlyRootfs = sc.readonly_rootfs();
  k.noNewPrivs = sc.no_new_privs();
  if (sc.has_run_as_user()) k.runAsUser = sc.run_as_user().value();
  if (sc.has_run_as_group()) k.runAsGroup = sc.run_as_group().value();
  k.runAsUsername = sc.run_as_username();
  k.supplementalGroups = {sc.supplemental_groups().begin(), sc.supplemental_groups().end()};
  k.strictSupplementalGroups = sc.supplemental_groups_policy() == v1::SupplementalGroupsPolicy::Strict;
  k.capAdd = {sc.capabilities().add_capabilities().begin(), sc.capabilities().add_capabilities().end()};
  k.capDrop = {sc.capabilities().drop_capabilities().begin(), sc.capabilities().drop_capabilities().end()};
  k.pidMode = sc.namespace_options().pid();
  const auto& r = c.linux().resources();
  k.resources = resourcesFromCri(r);
  k.oomScoreAdj = r.oom_score_adj();
  k.maskedPaths = {sc.masked_paths().begin(), sc.masked_paths().end()};
  k.readonlyPaths = {sc.readonly_paths().begin(), sc.readonly_paths().end()};
  k.seccompProfile = seccompProfile(sc);
  k.stopSignal = signalFromCri(c.stop_signal());
  // The deprecated string form ("runtime/default", "localhost/<name>") when the message is absent.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  k.apparmorProfile = sc.has_apparmor() ? apparmorFromCri(sc.apparmor()) : sc.apparmor_profile();
#pragma GCC diagnostic pop
  k.selinuxLabel = selinuxFromCri(sc.selinux_options());
  return k;
}

v1::ContainerState toCri(ContainerState s) {
  switch (s) {
    case ContainerState::Created: return v1::CONTAINER_CREATED;
    case ContainerState::Running: return v1::CONTAINER_RUNNING;
    case ContainerState::Exited: return v1::CONTAINER_EXITED;
    case ContainerState::Unknown: return v1::CONTAINER_UNKNOWN;
  }
  return v1::CONTAINER_UNKNOWN;
}

void fillMetadata(const lifecycle::Container& c, v1::ContainerMetadata* m) {
  m->set_name(c.config.name);
  m->set_attempt(c.config.attempt);
}

}  // namespace

void fillContainerStatus(const lifecycle::Container& c, v1::ContainerStatus* st) {
  st->set_id(c.id);
  fillMetadata(c, st->mutable_metadata());
  st->set_state(toCri(c.state));
  st->set_created_at(c.createdAt);
  st->set_started_at(c.startedAt);
  st->set_finished_at(c.finishedAt);
  st->set_exit_code(c.exitCode);
  st->mutable_image()->set_image(c.config.image);
  st->set_image_ref(c.imageRef.empty() ? c.imageId : c.imageRef);
  st->set_image_id(c.imageId);
  st->set_reason(c.reason);
  st->set_message(c.message);
  // Records from before crix kept the identity have no groups: no user then.
  if (!c.user.groups.empty()) {
    auto* user = st->mutable_user()->mutable_linux();
    user->set_uid(c.user.uid);
    user->set_gid(c.user.gid);
    for (auto g : c.user.groups) user->add_supplemental_groups(g);
  }
  st->mutable_labels()->insert(c.config.labels.begin(), c.config.labels.end());
  st->mutable_annotations()->insert(c.config.annotations.begin(), c.config.annotations.end());
  for (const auto& m : c.config.mounts) {
    auto* mm = st->add_mounts();
    mm->set_container_path(m.containerPath);
    mm->set_host_path(m.hostPath);
    mm->set_readonly(m.readonly);
    if (!m.image.empty()) mm->mutable_image()->set_image(m.image);
    mm->set_image_sub_path(m.imageSubPath);
    mm->set_propagation(m.propagation == "rslave"    ? v1::PROPAGATION_HOST_TO_CONTAINER
                        : m.propagation == "rshared" ? v1::PROPAGATION_BIDIRECTIONAL
                                                     : v1::PROPAGATION_PRIVATE);
  }
  st->set_log_path(c.logPath);
  st->set_stop_signal(signalToCri(c.stopSignal));
  // The limits as asked for (CreateContainer, then UpdateContainerResources);
  // verbose info names those the host could not enforce.
  const auto& r = c.config.resources;
  auto* l = st->mutable_resources()->mutable_linux();
  l->set_cpu_shares(r.cpuShares);
  l->set_cpu_quota(r.cpuQuota);
  l->set_cpu_period(r.cpuPeriod);
  l->set_memory_limit_in_bytes(r.memoryLimit);
  l->set_memory_swap_limit_in_bytes(r.memorySwap);
  l->set_cpuset_cpus(r.cpusetCpus);
  l->set_cpuset_mems(r.cpusetMems);
  l->set_oom_score_adj(c.config.oomScoreAdj);
  for (const auto& [size, limit] : r.hugepageLimits) {
    auto* h = l->add_hugepage_limits();
    h->set_page_size(size);
    h->set_limit(limit);
  }
  l->mutable_unified()->insert(r.unified.begin(), r.unified.end());
}

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext* ctx, const v1::CreateContainerRequest* req,
                                             v1::CreateContainerResponse* resp) {
  if (req->pod_sandbox_id().empty()) return invalid("CreateContainer: pod_sandbox_id is required");
  if (!req->has_config()) return invalid("CreateContainer: config is required");
  auto config = fromCri(req->config());
  if (config.stopSignal < 0)
    return invalid("CreateContainer: stop_signal " + std::to_string(req->config().stop_signal()) + " is no signal");
  auto id = containers_.create(req->pod_sandbox_id(), config, clientGone(ctx));
  if (!id) return toStatus(id.error());
  resp->set_container_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StartContainer(grpc::ServerContext*, const v1::StartContainerRequest* req,
                                            v1::StartContainerResponse*) {
  return toStatus(containers_.start(req->container_id()));
}

grpc::Status RuntimeService::StopContainer(grpc::ServerContext* ctx, const v1::StopContainerRequest* req,
                                           v1::StopContainerResponse*) {
  return toStatus(containers_.stop(req->container_id(), std::chrono::seconds(std::max<int64_t>(0, req->timeout())),
                                   clientGone(ctx)));
}

grpc::Status RuntimeService::RemoveContainer(grpc::ServerContext*, const v1::RemoveContainerRequest* req,
                                             v1::RemoveContainerResponse*) {
  return toStatus(containers_.remove(req->container_id()));
}

grpc::Status RuntimeService::ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* req,
                                             v1::ContainerStatusResponse* resp) {
  auto c = containers_.get(req->container_id());
  if (!c) return toStatus(c.error());
  fillContainerStatus(*c, resp->mutable_status());
  if (req->verbose()) {
    nlohmann::json info{{"pid", c->pid},
                        {"sandboxID", c->podId},
                        {"runtimeHandler", c->handler},
                        {"bundle", c->bundle},
                        {"droppedLimits", c->droppedLimits},
                        {"operation", containers_.operation(c->id)},
                        {"stopSignal", signalName(c->stopSignal)}};
    // The OCI spec as the runtime got it, as both peers show it (crictl inspect).
    if (auto spec = containers_.runtimeSpec(*c)) {
      auto parsed = nlohmann::json::parse(*spec, nullptr, false);
      if (!parsed.is_discarded()) info["runtimeSpec"] = std::move(parsed);
    }
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* req,
                                            v1::ListContainersResponse* resp) {
  lifecycle::ContainerFilter f;
  if (req->has_filter()) {
    f.idPrefix = req->filter().id();
    f.podId = req->filter().pod_sandbox_id();
    if (req->filter().has_state()) {
      switch (req->filter().state().state()) {
        case v1::CONTAINER_CREATED: f.state = ContainerState::Created; break;
        case v1::CONTAINER_RUNNING: f.state = ContainerState::Running; break;
        case v1::CONTAINER_EXITED: f.state = ContainerState::Exited; break;
        default: f.state = ContainerState::Unknown;
      }
    }
    f.labels = {req->filter().label_selector().begin(), req->filter().label_selector().end()};
  }
  containers_.visit(f, [&](const lifecycle::Container& c) {
    auto* out = resp->add_containers();
    out->set_id(c.id);
    out->set_pod_sandbox_id(c.podId);
    fillMetadata(c, out->mutable_metadata());
    out->mutable_image()->set_image(c.config.image);
    out->set_image_ref(c.imageId);
    out->set_image_id(c.imageId);
    out->set_state(toCri(c.state));
    out->set_created_at(c.createdAt);
    out->mutable_labels()->insert(c.config.labels.begin(), c.config.labels.end());
    out->mutable_annotations()->insert(c.config.annotations.begin(), c.config.annotations.end());
  });
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* req,
                                      v1::ExecSyncResponse* resp) {
  std::vector<std::string> cmd(req->cmd().begin(), req->cmd().end());
  auto r = containers_.execSync(req->container_id(), cmd, std::chrono::seconds(req->timeout()));
  if (!r) return toStatus(r.error());
  resp->set_stdout(r->out);
  resp->set_stderr(r->err);
  resp->set_exit_code(r->exitCode);
  return grpc::Status::OK;
}

void fillCpuMemory(const cgroups::Stats& s, int64_t timestamp, v1::CpuUsage* cpu, v1::MemoryUsage* memory) {
  cpu->set_timestamp(timestamp);
  cpu->mutable_usage_core_nano_seconds()->set_value(s.cpuUsageNs);
  memory->set_timestamp(timestamp);
  memory->mutable_working_set_bytes()->set_value(s.memoryWorkingSet);
  memory->mutable_usage_bytes()->set_value(s.memoryUsage);
  memory->mutable_rss_bytes()->set_value(s.memoryRss);
}

void fillStats(const lifecycle::ContainerStats& s, const std::string& mountpoint, v1::ContainerStats* out) {
  out->mutable_attributes()->set_id(s.container.id);
  fillMetadata(s.container, out->mutable_attributes()->mutable_metadata());
  out->mutable_attributes()->mutable_labels()->insert(s.container.config.labels.begin(),
                                                      s.container.config.labels.end());
  out->mutable_attributes()->mutable_annotations()->insert(s.container.config.annotations.begin(),
                                                           s.container.config.annotations.end());
  fillCpuMemory(s.cgroup, s.timestamp, out->mutable_cpu(), out->mutable_memory());
  auto* fs = out->mutable_writable_layer();
  fs->set_timestamp(s.timestamp);
  fs->mutable_fs_id()->set_mountpoint(mountpoint);
  fs->mutable_used_bytes()->set_value(static_cast<uint64_t>(s.writableBytes));
  fs->mutable_inodes_used()->set_value(static_cast<uint64_t>(s.writableInodes));
}

grpc::Status RuntimeService::ContainerStats(grpc::ServerContext*, const v1::ContainerStatsRequest* req,
                                            v1::ContainerStatsResponse* resp) {
  auto s = containers_.stats(req->container_id());
  if (!s) return toStatus(s.error());
  fillStats(*s, paths_.containersDir(), resp->mutable_stats());
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListContainerStats(grpc::ServerContext*, const v1::ListContainerStatsRequest* req,
                                                v1::ListContainerStatsResponse* resp) {
  lifecycle::ContainerFilter f;
  f.idPrefix = req->filter().id();
  f.podId = req->filter().pod_sandbox_id();
  f.labels = {req->filter().label_selector().begin(), req->filter().label_selector().end()};
  std::vector<std::string> ids;
  containers_.visit(f, [&](const lifecycle::Container& c) { ids.push_back(c.id); });
  for (const auto& id : ids)
    if (auto s = containers_.stats(id)) fillStats(*s, paths_.containersDir(), resp->add_stats());
  return grpc::Status::OK;
}

grpc::Status RuntimeService::UpdateContainerResources(grpc::ServerContext*,
                                                      const v1::UpdateContainerResourcesRequest* req,
                                                      v1::UpdateContainerResourcesResponse*) {
  if (req->container_id().empty()) return invalid("UpdateContainerResources: container_id is required");
  const auto& l = req->linux();
  if (l.memory_limit_in_bytes() < 0 || l.cpu_shares() < 0 || l.cpu_quota() < -1 || l.cpu_period() < 0)
    return invalid("UpdateContainerResources: negative limits");
  return toStatus(containers_.updateResources(req->container_id(), resourcesFromCri(l)));
}

grpc::Status RuntimeService::ReopenContainerLog(grpc::ServerContext*, const v1::ReopenContainerLogRequest* req,
                                                v1::ReopenContainerLogResponse*) {
  return toStatus(containers_.reopenLog(req->container_id()));
}

}  // namespace crix::server
