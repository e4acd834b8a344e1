// The Stream* RPCs: each asks its unary twin with the same filter and sends
// the reply in chunks (server/stream_chunks.h).
#include "server/image_service.h"
#include "server/runtime_service.h"
#include "server/stream_chunks.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

// Calls the unary `list` of `service` with the stream's filter, if its
// request has one (absent stays absent), and streams the `items` of its
// reply as `field`.
template <typename Service, typename ListReq, typename ListResp, typename StreamReq, typename Response, typename Item>
grpc::Status streamList(Service* service,
                        grpc::Status (Service::*list)(grpc::ServerContext*, const ListReq*, ListResp*),
                        google::protobuf::RepeatedPtrField<Item>* (ListResp::*items)(),
                        google::protobuf::RepeatedPtrField<Item>* (Response::*field)(), grpc::ServerContext* ctx,
                        const StreamReq& req, grpc::ServerWriter<Response>* writer) {
  ListReq listReq;
  if constexpr (requires { req.filter(); })
    if (req.has_filter()) *listReq.mutable_filter() = req.filter();
  ListResp all;
  if (auto s = (service->*list)(ctx, &listReq, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *(all.*items)(), field);
}

}  // namespace

grpc::Status RuntimeService::StreamPodSandboxes(grpc::ServerContext* ctx, const v1::StreamPodSandboxesRequest* req,
                                                grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
  return streamList(this, &RuntimeService::ListPodSandbox, &v1::ListPodSandboxResponse::mutable_items,
                    &v1::StreamPodSandboxesResponse::mutable_pod_sandboxes, ctx, *req, writer);
}

grpc::Status RuntimeService::StreamContainers(grpc::ServerContext* ctx, const v1::StreamContainersRequest* req,
                                              grpc::ServerWriter<v1::StreamContainersResponse>* writer) {
  return streamList(this, &RuntimeService::ListContainers, &v1::ListContainersResponse::mutable_containers,
                    &v1::StreamContainersResponse::mutable_containers, ctx, *req, writer);
}

grpc::Status RuntimeService::StreamContainerStats(grpc::ServerContext* ctx, const v1::StreamContainerStatsRequest* req,
                                                  grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) {
  return streamList(this, &RuntimeService::ListContainerStats, &v1::ListContainerStatsResponse::mutable_stats,
                    &v1::StreamContainerStatsResponse::mutable_container_stats, ctx, *req, writer);
}

grpc::Status RuntimeService::StreamPodSandboxStats(grpc::ServerContext* ctx,
                                                   const v1::StreamPodSandboxStatsRequest* req,
                                                   grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) {
  return streamList(this, &RuntimeService::ListPodSandboxStats, &v1::ListPodSandboxStatsResponse::mutable_stats,
                    &v1::StreamPodSandboxStatsResponse::mutable_pod_sandbox_stats, ctx, *req, writer);
}

grpc::Status RuntimeService::StreamPodSandboxMetrics(grpc::ServerContext* ctx,
                                                     const v1::StreamPodSandboxMetricsRequest* req,
                                                     grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>* writer) {
  return streamList(this, &RuntimeService::ListPodSandboxMetrics,
                    &v1::ListPodSandboxMetricsResponse::mutable_pod_metrics,
                    &v1::StreamPodSandboxMetricsResponse::mutable_pod_sandbox_metrics, ctx, *req, writer);
}

grpc::Status ImageService::StreamImages(grpc::ServerContext* ctx, const v1::StreamImagesRequest* req,
                                        grpc::ServerWriter<v1::StreamImagesResponse>* writer) {
  return streamList(this, &ImageService::ListImages, &v1::ListImagesResponse::mutable_images,
                    &v1::StreamImagesResponse::mutable_images, ctx, *req, writer);
}

}  // namespace crix::server
