// The Stream* RPCs send what their unary twins return, built once (one
// consistent view: no object twice, none lost between messages), in
// messages that stay far below the 16 MiB the kubelet's client accepts.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include <cstddef>

#include <google/protobuf/repeated_ptr_field.h>

namespace crix::server {

// What one message may carry, encoded. An item larger than this goes alone.
constexpr size_t kStreamChunkBytes = 4 << 20;

// Moves `items` into consecutive Responses, each holding whole items of
// at most `budget` encoded bytes (and at least one), in order; `field`
// names the Response's repeated field. `send` gets each one and says
// whether to go on (false: the client went).
template <typename Response, typename Item, typename Send>
bool sendInChunks(google::protobuf::RepeatedPtrField<Item>& items,
                  google::protobuf::RepeatedPtrField<Item>* (Response::*field)(), Send send,
                  size_t budget = kStreamChunkBytes) {
  Response chunk;
  size_t bytes = 0;
  for (auto& item : items) {
    // The field tag and length prefix add a few bytes per item.
    size_t size = item.ByteSizeLong() + 16;
    if (bytes > 0 && bytes + size > budget) {
      if (!send(chunk)) return false;
      chunk.Clear();
      bytes = 0;
    }
    (chunk.*field)()->Add(std::move(item));
    bytes += size;
  }
  return bytes == 0 || send(chunk);
}

// sendInChunks onto a gRPC stream, stopping when the client cancels or
// the stream breaks (CANCELLED).
template <typename Response, typename Item>
grpc::Status streamInChunks(grpc::ServerContext* ctx, grpc::ServerWriter<Response>* writer,
                            google::protobuf::RepeatedPtrField<Item>& items,
                            google::protobuf::RepeatedPtrField<Item>* (Response::*field)()) {
  bool sent = sendInChunks<Response>(
      items, field, [&](const Response& chunk) { return !(ctx && ctx->IsCancelled()) && writer->Write(chunk); });
  return sent ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
}

}  // namespace crix::server
