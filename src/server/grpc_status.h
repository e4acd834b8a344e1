// The one place where a crix Error becomes a grpc::Status.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>

#include "common/error.h"

namespace crix::server {

grpc::Status toStatus(const Error& err);

template <typename T>
grpc::Status toStatus(const Result<T>& r) {
  return r ? grpc::Status::OK : toStatus(r.error());
}

// Whether the client of a call has gone (its deadline passed, or it
// cancelled), for lifecycle operations to stop at their next step.
inline std::function<bool()> clientGone(grpc::ServerContext* ctx) {
  if (!ctx) return {};
  return [ctx] { return ctx->IsCancelled(); };
}

// INVALID_ARGUMENT with `message`, for requests refused before any call.
inline grpc::Status invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// UNIMPLEMENTED naming the RPC, for the calls crix does not serve yet.
grpc::Status unimplemented(const char* rpc);

}  // namespace crix::server
