// RuntimeService: pods, containers, streaming and runtime status.
#pragma once

#include "common/paths.h"
#include "config/config.h"
#include "crix/proto/api.grpc.pb.h"
#include "lifecycle/container_manager.h"
#include "lifecycle/pod_manager.h"
#include "lifecycle/runtime_health.h"
#include "server/grpc_status.h"
#include "streaming/server.h"

namespace crix::server {

class RuntimeService final : public ::runtime::v1::RuntimeService::Service {
 public:
  RuntimeService(const config::Config& cfg, lifecycle::RuntimeHealth& health, lifecycle::PodManager& pods,
                 lifecycle::ContainerManager& containers, streaming::Server& streaming)
      : cfg_(cfg), paths_(cfg.paths()), health_(health), pods_(pods), containers_(containers), streaming_(streaming) {}

  grpc::Status Version(grpc::ServerContext*, const ::runtime::v1::VersionRequest*,
                       ::runtime::v1::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const ::runtime::v1::StatusRequest*,
                      ::runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const ::runtime::v1::RuntimeConfigRequest*,
                             ::runtime::v1::RuntimeConfigResponse*) override;

  // Pods (pod_service.cc).
  grpc::Status RunPodSandbox(grpc::ServerContext*, const ::runtime::v1::RunPodSandboxRequest*,
                             ::runtime::v1::RunPodSandboxResponse*) override;
  grpc::Status StopPodSandbox(grpc::ServerContext*, const ::runtime::v1::StopPodSandboxRequest*,
                              ::runtime::v1::StopPodSandboxResponse*) override;
  grpc::Status RemovePodSandbox(grpc::ServerContext*, const ::runtime::v1::RemovePodSandboxRequest*,
                                ::runtime::v1::RemovePodSandboxResponse*) override;
  grpc::Status PodSandboxStatus(grpc::ServerContext*, const ::runtime::v1::PodSandboxStatusRequest*,
                                ::runtime::v1::PodSandboxStatusResponse*) override;
  grpc::Status ListPodSandbox(grpc::ServerContext*, const ::runtime::v1::ListPodSandboxRequest*,
                              ::runtime::v1::ListPodSandboxResponse*) override;
  grpc::Status StreamPodSandboxes(
      grpc::ServerContext*, const ::runtime::v1::StreamPodSandboxesRequest*,
      grpc::ServerWriter<::runtime::v1::StreamPodSandboxesResponse>*) override;  // stream_service.cc
  // Containers (container_service.cc).
  grpc::Status CreateContainer(grpc::ServerContext*, const ::runtime::v1::CreateContainerRequest*,
                               ::runtime::v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const ::runtime::v1::StartContainerRequest*,
                              ::runtime::v1::StartContainerResponse*) override;
  grpc::Status StopContainer(grpc::ServerContext*, const ::runtime::v1::StopContainerRequest*,
                             ::runtime::v1::StopContainerResponse*) override;
  grpc::Status RemoveContainer(grpc::ServerContext*, const ::runtime::v1::RemoveContainerRequest*,
                               ::runtime::v1::RemoveContainerResponse*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const ::runtime::v1::ListContainersRequest*,
                              ::runtime::v1::ListContainersResponse*) override;
  grpc::Status ContainerStatus(grpc::ServerContext*, const ::runtime::v1::ContainerStatusRequest*,
                               ::runtime::v1::ContainerStatusResponse*) override;
  grpc::Status ExecSync(grpc::ServerContext*, const ::runtime::v1::ExecSyncRequest*,
                        ::runtime::v1::ExecSyncResponse*) override;
  grpc::Status StreamContainers(
      grpc::ServerContext*, const ::runtime::v1::StreamContainersRequest*,
      grpc::ServerWriter<::runtime::v1::StreamContainersResponse>*) override;  // stream_service.cc
  grpc::Status UpdateContainerResources(grpc::ServerContext*, const ::runtime::v1::UpdateContainerResourcesRequest*,
                                        ::runtime::v1::UpdateContainerResourcesResponse*) override;
  grpc::Status ReopenContainerLog(grpc::ServerContext*, const ::runtime::v1::ReopenContainerLogRequest*,
                                  ::runtime::v1::ReopenContainerLogResponse*) override;
  // Streaming (streaming_service.cc).
  grpc::Status Exec(grpc::ServerContext*, const ::runtime::v1::ExecRequest*, ::runtime::v1::ExecResponse*) override;
  grpc::Status Attach(grpc::ServerContext*, const ::runtime::v1::AttachRequest*,
                      ::runtime::v1::AttachResponse*) override;
  grpc::Status PortForward(grpc::ServerContext*, const ::runtime::v1::PortForwardRequest*,
                           ::runtime::v1::PortForwardResponse*) override;
  grpc::Status ContainerStats(grpc::ServerContext*, const ::runtime::v1::ContainerStatsRequest*,
                              ::runtime::v1::ContainerStatsResponse*) override;
  grpc::Status ListContainerStats(grpc::ServerContext*, const ::runtime::v1::ListContainerStatsRequest*,
                                  ::runtime::v1::ListContainerStatsResponse*) override;
  grpc::Status StreamContainerStats(
      grpc::ServerContext*, const ::runtime::v1::StreamContainerStatsRequest*,
      grpc::ServerWriter<::runtime::v1::StreamContainerStatsResponse>*) override;  // stream_service.cc
  // Pod stats (pod_stats_service.cc).
  grpc::Status PodSandboxStats(grpc::ServerContext*, const ::runtime::v1::PodSandboxStatsRequest*,
                               ::runtime::v1::PodSandboxStatsResponse*) override;
  grpc::Status ListPodSandboxStats(grpc::ServerContext*, const ::runtime::v1::ListPodSandboxStatsRequest*,
                                   ::runtime::v1::ListPodSandboxStatsResponse*) override;
  grpc::Status StreamPodSandboxStats(
      grpc::ServerContext*, const ::runtime::v1::StreamPodSandboxStatsRequest*,
      grpc::ServerWriter<::runtime::v1::StreamPodSandboxStatsResponse>*) override;  // stream_service.cc
  grpc::Status UpdateRuntimeConfig(grpc::ServerContext*, const ::runtime::v1::UpdateRuntimeConfigRequest*,
                                   ::runtime::v1::UpdateRuntimeConfigResponse*) override;
  // Checkpoint and restore: FailedPrecondition with why CRIU cannot run
  // here, after the request's own checks (runtime_service.cc).
  grpc::Status CheckpointContainer(grpc::ServerContext*, const ::runtime::v1::CheckpointContainerRequest*,
                                   ::runtime::v1::CheckpointContainerResponse*) override;
  grpc::Status CheckpointPod(grpc::ServerContext*, const ::runtime::v1::CheckpointPodRequest*,
                             ::runtime::v1::CheckpointPodResponse*) override;
  grpc::Status RestorePod(grpc::ServerContext*, const ::runtime::v1::RestorePodRequest*,
                          ::runtime::v1::RestorePodResponse*) override;
  // Events (events_service.cc).
  grpc::Status GetContainerEvents(grpc::ServerContext*, const ::runtime::v1::GetEventsRequest*,
                                  grpc::ServerWriter<::runtime::v1::ContainerEventResponse>*) override;
  // Where GetContainerEvents subscribes. Set once, before serving.
  void setEvents(lifecycle::EventBus* events) { events_ = events; }
  // cAdvisor's metrics from the runtime (pod_stats_service.cc, server/pod_metrics.h).
  grpc::Status ListMetricDescriptors(grpc::ServerContext*, const ::runtime::v1::ListMetricDescriptorsRequest*,
                                     ::runtime::v1::ListMetricDescriptorsResponse*) override;
  grpc::Status ListPodSandboxMetrics(grpc::ServerContext*, const ::runtime::v1::ListPodSandboxMetricsRequest*,
                                     ::runtime::v1::ListPodSandboxMetricsResponse*) override;
  grpc::Status StreamPodSandboxMetrics(
      grpc::ServerContext*, const ::runtime::v1::StreamPodSandboxMetricsRequest*,
      grpc::ServerWriter<::runtime::v1::StreamPodSandboxMetricsResponse>*) override;  // stream_service.cc
  grpc::Status UpdatePodSandboxResources(grpc::ServerContext*, const ::runtime::v1::UpdatePodSandboxResourcesRequest*,
                                         ::runtime::v1::UpdatePodSandboxResourcesResponse*) override;

 private:
  const config::Config& cfg_;
  const Paths paths_;
  lifecycle::RuntimeHealth& health_;
  lifecycle::PodManager& pods_;
  lifecycle::ContainerManager& containers_;
  streaming::Server& streaming_;
  lifecycle::EventBus* events_ = nullptr;
};

}  // namespace crix::server
