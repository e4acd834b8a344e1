#include "server/rpc_metrics.h"

#include <chrono>

namespace crix::server {
namespace {

namespace gx = grpc::experimental;

// Made by gRPC for each call and deleted by it when the call ends.
class RpcMetricsInterceptor final : public gx::Interceptor {
 public:
  RpcMetricsInterceptor(std::string_view method, metrics::Family<metrics::Counter>& requests,
                        metrics::Family<metrics::Histogram>& seconds)
      : method_(method), requests_(requests), seconds_(seconds), start_(std::chrono::steady_clock::now()) {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      seconds_.with({method_}).observe(std::chrono::steady_clock::now() - start_);
      requests_.with({method_, std::string(statusCodeName(status.error_code()))}).inc();
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& seconds_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::string_view shortMethodName(std::string_view fullMethod) {
  size_t slash = fullMethod.rfind('/');
  return slash == std::string_view::npos ? fullMethod : fullMethod.substr(slash + 1);
}

std::string_view statusCodeName(int code) {
  // The names the Go gRPC libraries print, which dashboards expect.
  static constexpr std::string_view kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "Unknown";
  return kNames[code];
}

RpcMetricsFactory::RpcMetricsFactory(metrics::Registry& metrics)
    : requests_(metrics.counters("crix_grpc_requests_total", "CRI calls finished, by method and status code.",
                                 {"method", "code"})),
      seconds_(metrics.histograms("crix_grpc_request_duration_seconds", "Time CRI calls took, by method.", {"method"},
                                  metrics::kLatencyBuckets)) {}

gx::Interceptor* RpcMetricsFactory::CreateServerInterceptor(gx::ServerRpcInfo* info) {
  return new RpcMetricsInterceptor(shortMethodName(info->method() ? info->method() : ""), requests_, seconds_);
}

}  // namespace crix::server
