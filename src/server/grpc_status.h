// The one place where a crix Error becomes a grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "common/error.h"

namespace crix::server {

grpc::Status toStatus(const Error& err);

template <typename T>
grpc::Status toStatus(const Result<T>& r) {
  return r ? grpc::Status::OK : toStatus(r.error());
}

// UNIMPLEMENTED naming the RPC, for the calls crix does not serve yet.
grpc::Status unimplemented(const char* rpc);

}  // namespace crix::server
