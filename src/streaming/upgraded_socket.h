// The raw socket of a connection after its HTTP upgrade, shared by the SPDY
// and WebSocket connections: reads that keep an idle clock, and writes
// that fail for good once the socket has broken or been shut down.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sys/unique_fd.h"

namespace crix::streaming {

class UpgradedSocket {
 public:
  UpgradedSocket(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout);

  // Bytes read and not yet consumed; parsers erase what they use.
  std::string& input() { return in_; }
  // Waits for more bytes and appends them to input(). Returns why the
  // connection is over, or nothing while it lives. kIdle when neither side
  // has sent anything for the idle timeout.
  std::optional<std::string> readMore();
  // Not locked: callers serialize their writes.
  bool write(std::string_view bytes);
  // Ends readMore() and fails every later write.
  void shutdown();
  // Counts as activity for the idle clock.
  void touch();

  static constexpr const char* kIdle = "idle timeout";

 private:
  sys::UniqueFd fd_;
  std::string in_;
  std::chrono::milliseconds idleTimeout_;
  std::atomic<int64_t> lastActivity_{0};
  std::atomic<bool> broken_{false};
};

}  // namespace crix::streaming
