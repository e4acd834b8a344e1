// Per-RPC metrics for every CRI call, from one gRPC server interceptor
// rather than a line in each handler:
//
//   crix_grpc_requests_total{method,code}          calls finished, by status code
//   crix_grpc_request_duration_seconds{method}     from the call's arrival to its status
//
// `method` is the RPC's name without its service ("RunPodSandbox"; the
// RuntimeService and ImageService share no names); `code` is the gRPC
// code's name as Prometheus users know it ("OK", "NotFound", ...).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/support/server_interceptor.h>

#include "metrics/registry.h"

namespace crix::server {

class RpcMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsFactory(metrics::Registry& metrics);
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& seconds_;
};

// "/runtime.v1.RuntimeService/Version" → "Version".
std::string_view shortMethodName(std::string_view fullMethod);
// grpc::StatusCode → "OK", "InvalidArgument", ...
std::string_view statusCodeName(int code);

}  // namespace crix::server
