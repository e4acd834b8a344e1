// PodSandboxStats and ListPodSandboxStats: CPU and memory summed over the
// pod's containers, network counters read inside the pod's namespace; and
// the same readings as cAdvisor's metrics (server/pod_metrics.h).
#include <algorithm>

#include "server/convert.h"
#include "server/pod_metrics.h"
#include "server/runtime_service.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

void fillPodStats(const lifecycle::PodStats& p, const std::string& mountpoint, v1::PodSandboxStats* out) {
  auto* attrs = out->mutable_attributes();
  attrs->set_id(p.pod.id);
  fillPodMetadata(p.pod, attrs->mutable_metadata());
  attrs->mutable_labels()->insert(p.pod.config.labels.begin(), p.pod.config.labels.end());
  attrs->mutable_annotations()->insert(p.pod.config.annotations.begin(), p.pod.config.annotations.end());
  auto* linux = out->mutable_linux();
  fillCpuMemory(p.cgroup, p.timestamp, linux->mutable_cpu(), linux->mutable_memory());
  // The kubelet reads the default interface of any network message it gets:
  // without the pod's own eth0 (stopped, or on the host's network) there is none.
  auto eth0 = std::find_if(p.interfaces.begin(), p.interfaces.end(), [](const auto& i) { return i.name == "eth0"; });
  if (eth0 != p.interfaces.end()) {
    auto* net = linux->mutable_network();
    net->set_timestamp(p.timestamp);
    for (const auto& i : p.interfaces) {
      auto* u = net->add_interfaces();
      u->set_name(i.name);
      u->mutable_rx_bytes()->set_value(i.rxBytes);
      u->mutable_rx_errors()->set_value(i.rxErrors);
      u->mutable_tx_bytes()->set_value(i.txBytes);
      u->mutable_tx_errors()->set_value(i.txErrors);
      if (&i == &*eth0) *net->mutable_default_interface() = *u;
    }
  }
  for (const auto& c : p.containers) fillStats(c, mountpoint, linux->add_containers());
}

}  // namespace

grpc::Status RuntimeService::PodSandboxStats(grpc::ServerContext*, const v1::PodSandboxStatsRequest* req,
                                             v1::PodSandboxStatsResponse* resp) {
  if (req->pod_sandbox_id().empty()) return invalid("PodSandboxStats: pod_sandbox_id is required");
  auto stats = containers_.podStats(req->pod_sandbox_id());
  if (!stats) return toStatus(stats.error());
  fillPodStats(*stats, paths_.containersDir(), resp->mutable_stats());
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandboxStats(grpc::ServerContext*, const v1::ListPodSandboxStatsRequest* req,
                                                 v1::ListPodSandboxStatsResponse* resp) {
  lifecycle::PodFilter f;
  f.idPrefix = req->filter().id();
  f.labels = {req->filter().label_selector().begin(), req->filter().label_selector().end()};
  for (const auto& pod : pods_.list(f)) {
    auto stats = containers_.podStats(pod.id);
    if (stats) fillPodStats(*stats, paths_.containersDir(), resp->add_stats());
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListMetricDescriptors(grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                                   v1::ListMetricDescriptorsResponse* resp) {
  fillMetricDescriptors(cfg_.includedPodMetrics, resp->mutable_descriptors());
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandboxMetrics(grpc::ServerContext* ctx, const v1::ListPodSandboxMetricsRequest*,
                                                   v1::ListPodSandboxMetricsResponse* resp) {
  std::optional<lifecycle::Filesystem> fs;
  if (auto got = containers_.writableFilesystem()) fs = std::move(*got);
  // Ready pods only: a stopped pod's containers have no cgroup left to read.
  for (const auto& pod : pods_.list({.state = lifecycle::SandboxState::Ready})) {
    if (ctx && ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "ListPodSandboxMetrics: cancelled");
    auto stats = containers_.podStats(pod.id);
    if (stats) fillPodMetrics(*stats, fs, cfg_.includedPodMetrics, resp->add_pod_metrics());
  }
  return grpc::Status::OK;
}

}  // namespace crix::server
