#include "streaming/tokens.h"

#include <sys/random.h>

#include "common/base64.h"

namespace crix::streaming {
namespace {

Result<std::string> randomToken() {
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  return base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace

void TokenCache::dropExpired(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now)
      it = entries_.erase(it);
    else
      ++it;
  }
}

Result<std::string> TokenCache::put(Request req) {
  std::string token = TRY(randomToken());
  auto now = Clock::now();
  std::lock_guard lock(mu_);
  if (entries_.size() >= capacity_) dropExpired(now);
  if (entries_.size() >= capacity_)
    return fail(Code::ResourceExhausted,
                "too many streaming requests waiting for their clients (" + std::to_string(capacity_) + ")");
  entries_[token] = {std::move(req), now + ttl_};
  return token;
}

std::optional<Request> TokenCache::take(const std::string& token) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (e.expires <= Clock::now()) return std::nullopt;
  return std::move(e.req);
}

}  // namespace crix::streaming
