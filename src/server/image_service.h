// ImageService: pulling, listing and removing images.
#pragma once

#include "crix/proto/api.grpc.pb.h"
#include "server/unimplemented.h"

namespace crix::server {

class ImageService final : public ::runtime::v1::ImageService::Service {
 public:
  CRIX_UNARY_TODO(ListImages)
  CRIX_STREAM_TODO(StreamImages, StreamImagesRequest, StreamImagesResponse)
  CRIX_UNARY_TODO(ImageStatus)
  CRIX_UNARY_TODO(PullImage)
  CRIX_UNARY_TODO(RemoveImage)
  CRIX_UNARY_TODO(ImageFsInfo)
};

}  // namespace crix::server
