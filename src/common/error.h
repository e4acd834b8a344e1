// Result and Error: how every fallible crix function reports failure.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace crix {

// Codes line up with gRPC's so that server/ can map them one to one.
enum class Code {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
};

std::string_view codeName(Code code);

class Error {
 public:
  Error(Code code, std::string message, int errnum = 0) : code_(code), errno_(errnum), message_(std::move(message)) {}

  // An Internal error from a failed system call, with strerror appended.
  static Error fromErrno(std::string what, int errnum);

  Code code() const { return code_; }
  int errnum() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with what the caller was doing: "open db: ...".
  Error wrap(std::string_view context) const&;
  Error wrap(std::string_view context) &&;

 private:
  Code code_;
  int errno_;
  std::string message_;
};

template <typename T = void>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Code code, std::string message, int errnum = 0) {
  return tl::unexpected<Error>(Error(code, std::move(message), errnum));
}
inline tl::unexpected<Error> fail(Error err) {
  return tl::unexpected<Error>(std::move(err));
}
inline tl::unexpected<Error> failErrno(std::string what, int errnum) {
  return tl::unexpected<Error>(Error::fromErrno(std::move(what), errnum));
}

namespace detail {
template <typename T>
T unwrap(Result<T>&& r) {
  return std::move(*r);
}
inline void unwrap(Result<void>&&) {}
}  // namespace detail

}  // namespace crix

// TRY(expr): evaluates a Result; on failure returns its error from the
// enclosing function, otherwise yields the value (void for Result<void>).
#define CRIX_CONCAT_INNER(a, b) a##b
#define CRIX_CONCAT(a, b) CRIX_CONCAT_INNER(a, b)
#define TRY(expr)                                                                     \
  ({                                                                                  \
    auto&& CRIX_CONCAT(try_result_, __LINE__) = (expr);                               \
    if (!CRIX_CONCAT(try_result_, __LINE__))                                          \
      return ::tl::unexpected(std::move(CRIX_CONCAT(try_result_, __LINE__)).error()); \
    ::crix::detail::unwrap(std::move(CRIX_CONCAT(try_result_, __LINE__)));            \
  })
// TRY_CTX(expr, context): like TRY, wrapping the error with context.
#define TRY_CTX(expr, context)                                                                      \
  ({                                                                                                \
    auto&& CRIX_CONCAT(try_result_, __LINE__) = (expr);                                             \
    if (!CRIX_CONCAT(try_result_, __LINE__))                                                        \
      return ::tl::unexpected(std::move(CRIX_CONCAT(try_result_, __LINE__)).error().wrap(context)); \
    ::crix::detail::unwrap(std::move(CRIX_CONCAT(try_result_, __LINE__)));                          \
  })
