#include "server/grpc_status.h"

#include <string>

namespace crix::server {

grpc::Status toStatus(const Error& err) {
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(err.code())), err.message());
}

grpc::Status unimplemented(const char* rpc) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, std::string(rpc) + " is not implemented by crix yet");
}

}  // namespace crix::server
