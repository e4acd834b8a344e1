// The Stream* RPCs: each asks its unary twin with the same filter and sends
// the reply in chunks (server/stream_chunks.h).
#include "server/image_service.h"
#include "server/runtime_service.h"
#include "server/stream_chunks.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

// The unary request with the stream's filter (absent stays absent).
template <typename List, typename Stream>
List listRequest(const Stream& req) {
  List list;
  if (req.has_filter()) *list.mutable_filter() = req.filter();
  return list;
}

}  // namespace

grpc::Status RuntimeService::StreamPodSandboxes(grpc::ServerContext* ctx, const v1::StreamPodSandboxesRequest* req,
                                                grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
  auto list = listRequest<v1::ListPodSandboxRequest>(*req);
  v1::ListPodSandboxResponse all;
  if (auto s = ListPodSandbox(ctx, &list, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *all.mutable_items(), &v1::StreamPodSandboxesResponse::mutable_pod_sandboxes);
}

grpc::Status RuntimeService::StreamContainers(grpc::ServerContext* ctx, const v1::StreamContainersRequest* req,
                                              grpc::ServerWriter<v1::StreamContainersResponse>* writer) {
  auto list = listRequest<v1::ListContainersRequest>(*req);
  v1::ListContainersResponse all;
  if (auto s = ListContainers(ctx, &list, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *all.mutable_containers(), &v1::StreamContainersResponse::mutable_containers);
}

grpc::Status RuntimeService::StreamContainerStats(grpc::ServerContext* ctx, const v1::StreamContainerStatsRequest* req,
                                                  grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) {
  auto list = listRequest<v1::ListContainerStatsRequest>(*req);
  v1::ListContainerStatsResponse all;
  if (auto s = ListContainerStats(ctx, &list, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *all.mutable_stats(), &v1::StreamContainerStatsResponse::mutable_container_stats);
}

grpc::Status RuntimeService::StreamPodSandboxStats(grpc::ServerContext* ctx,
                                                   const v1::StreamPodSandboxStatsRequest* req,
                                                   grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) {
  auto list = listRequest<v1::ListPodSandboxStatsRequest>(*req);
  v1::ListPodSandboxStatsResponse all;
  if (auto s = ListPodSandboxStats(ctx, &list, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *all.mutable_stats(),
                        &v1::StreamPodSandboxStatsResponse::mutable_pod_sandbox_stats);
}

grpc::Status ImageService::StreamImages(grpc::ServerContext* ctx, const v1::StreamImagesRequest* req,
                                        grpc::ServerWriter<v1::StreamImagesResponse>* writer) {
  auto list = listRequest<v1::ListImagesRequest>(*req);
  v1::ListImagesResponse all;
  if (auto s = ListImages(ctx, &list, &all); !s.ok()) return s;
  return streamInChunks(ctx, writer, *all.mutable_images(), &v1::StreamImagesResponse::mutable_images);
}

}  // namespace crix::server
