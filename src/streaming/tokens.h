// Single-use tokens for streaming requests: what the Exec, Attach and
// PortForward RPCs asked for, waiting for the client to connect.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "common/error.h"
#include "streaming/backend.h"

namespace crix::streaming {

using Request = std::variant<ExecRequest, AttachRequest, PortForwardRequest>;

class TokenCache {
 public:
  explicit TokenCache(std::chrono::milliseconds ttl, size_t capacity = 4096) : ttl_(ttl), capacity_(capacity) {}

  // A new token (43 URL-safe characters) for the request; ResourceExhausted
  // when `capacity` unexpired tokens are waiting.
  Result<std::string> put(Request req);
  // The request, once: a used, unknown or expired token gives nothing.
  std::optional<Request> take(const std::string& token);

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Request req;
    Clock::time_point expires;
  };
  void dropExpired(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t capacity_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace crix::streaming
