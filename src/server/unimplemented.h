// Declares handlers for the RPCs crix does not serve yet, each answering
// UNIMPLEMENTED with its own name (gRPC's default reply names nothing).
// Delete a line when its RPC gets a real handler.
#pragma once

#include "server/grpc_status.h"

#define CRIX_UNARY_TODO(Name)                                                                                  \
  grpc::Status Name(grpc::ServerContext*, const ::runtime::v1::Name##Request*, ::runtime::v1::Name##Response*) \
      override {                                                                                               \
    return ::crix::server::unimplemented(#Name);                                                               \
  }

#define CRIX_STREAM_TODO(Name, Request, Response)                                                                      \
  grpc::Status Name(grpc::ServerContext*, const ::runtime::v1::Request*, grpc::ServerWriter<::runtime::v1::Response>*) \
      override {                                                                                                       \
    return ::crix::server::unimplemented(#Name);                                                                       \
  }
