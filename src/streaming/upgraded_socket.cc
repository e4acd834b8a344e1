#include "streaming/upgraded_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace crix::streaming {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A client may send several frames at once; reads are this large.
constexpr size_t kReadChunk = 64 << 10;

}  // namespace

UpgradedSocket::UpgradedSocket(sys::UniqueFd fd, std::string leftover, std::chrono::milliseconds idleTimeout)
    : fd_(std::move(fd)), in_(std::move(leftover)), idleTimeout_(idleTimeout) {
  touch();
}

void UpgradedSocket::touch() {
  lastActivity_.store(nowMs(), std::memory_order_relaxed);
}

std::optional<std::string> UpgradedSocket::readMore() {
  char buf[kReadChunk];
  for (;;) {
    if (broken_) return "shut down";
    // Poll in slices so that the idle clock can be checked.
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 1000);
    if (n < 0 && errno != EINTR) return "poll failed";
    if (n <= 0) {
      if (broken_) return "shut down";
      if (nowMs() - lastActivity_.load(std::memory_order_relaxed) > idleTimeout_.count()) return kIdle;
      continue;
    }
    ssize_t r = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (r == 0) return "client closed the connection";
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return "read failed";
    }
    in_.append(buf, static_cast<size_t>(r));
    touch();
    return std::nullopt;
  }
}

bool UpgradedSocket::write(std::string_view bytes) {
  while (!bytes.empty()) {
    if (broken_) return false;
    ssize_t w = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  touch();
  return true;
}

void UpgradedSocket::shutdown() {
  broken_ = true;
  ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace crix::streaming
