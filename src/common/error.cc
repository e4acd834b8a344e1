#include "common/error.h"

#include <cstring>

namespace crix {

std::string_view codeName(Code code) {
  switch (code) {
    case Code::Ok: return "ok";
    case Code::Cancelled: return "cancelled";
    case Code::Unknown: return "unknown";
    case Code::InvalidArgument: return "invalid argument";
    case Code::DeadlineExceeded: return "deadline exceeded";
    case Code::NotFound: return "not found";
    case Code::AlreadyExists: return "already exists";
    case Code::PermissionDenied: return "permission denied";
    case Code::ResourceExhausted: return "resource exhausted";
    case Code::FailedPrecondition: return "failed precondition";
    case Code::Aborted: return "aborted";
    case Code::OutOfRange: return "out of range";
    case Code::Unimplemented: return "unimplemented";
    case Code::Internal: return "internal";
    case Code::Unavailable: return "unavailable";
  }
  return "unknown";
}

Error Error::fromErrno(std::string what, int errnum) {
  Code code = Code::Internal;
  if (errnum == ENOENT) code = Code::NotFound;
  if (errnum == EEXIST) code = Code::AlreadyExists;
  if (errnum == EACCES || errnum == EPERM) code = Code::PermissionDenied;
  return Error(code, what + ": " + std::strerror(errnum), errnum);
}

Error Error::wrap(std::string_view context) const& {
  return Error(code_, std::string(context) + ": " + message_, errno_);
}

Error Error::wrap(std::string_view context) && {
  message_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

}  // namespace crix
