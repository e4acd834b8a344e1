// ImageService: pulling, listing and removing images.
#pragma once

#include <string>

#include "common/paths.h"
#include "crix/proto/api.grpc.pb.h"
#include "image/image_store.h"
#include "lifecycle/container_manager.h"
#include "server/grpc_status.h"

namespace crix::server {

class ImageService final : public ::runtime::v1::ImageService::Service {
 public:
  // `paths` name ImageFsInfo's filesystems: the root for images, where the
  // writable layers live for containers.
  ImageService(image::ImageStore& images, lifecycle::ContainerManager& containers, Paths paths)
      : images_(images), containers_(containers), paths_(std::move(paths)) {}

  grpc::Status ListImages(grpc::ServerContext*, const ::runtime::v1::ListImagesRequest*,
                          ::runtime::v1::ListImagesResponse*) override;
  grpc::Status ImageStatus(grpc::ServerContext*, const ::runtime::v1::ImageStatusRequest*,
                           ::runtime::v1::ImageStatusResponse*) override;
  grpc::Status PullImage(grpc::ServerContext*, const ::runtime::v1::PullImageRequest*,
                         ::runtime::v1::PullImageResponse*) override;
  grpc::Status RemoveImage(grpc::ServerContext*, const ::runtime::v1::RemoveImageRequest*,
                           ::runtime::v1::RemoveImageResponse*) override;
  grpc::Status ImageFsInfo(grpc::ServerContext*, const ::runtime::v1::ImageFsInfoRequest*,
                           ::runtime::v1::ImageFsInfoResponse*) override;
  grpc::Status StreamImages(grpc::ServerContext*, const ::runtime::v1::StreamImagesRequest*,
                            grpc::ServerWriter<::runtime::v1::StreamImagesResponse>*) override;  // stream_service.cc

 private:
  image::ImageStore& images_;
  lifecycle::ContainerManager& containers_;
  Paths paths_;
};

// The CRI view of an image (exposed for tests).
void toCri(const image::Image& img, ::runtime::v1::Image* out);

}  // namespace crix::server
