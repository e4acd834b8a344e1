// What the streaming server asks of the rest of crixd: a running process for
// exec, a connection to a container's stdio for attach, a socket inside a
// pod's network namespace for port-forward. The server layer implements it;
// this layer knows nothing of containers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sys/unique_fd.h"

namespace crix::streaming {

enum class Channel : uint8_t { Stdin = 0, Stdout = 1, Stderr = 2, Error = 3, Resize = 4 };

struct ExecRequest {
  std::string containerId;
  std::vector<std::string> cmd;
  bool tty = false, stdin = false, stdout = false, stderr = false;
  uint16_t width = 0, height = 0;  // the terminal's first size, when known
};

struct AttachRequest {
  std::string containerId;
  bool tty = false, stdin = false, stdout = false, stderr = false;
};

struct PortForwardRequest {
  std::string sandboxId;
  std::vector<int32_t> ports;  // what the client asked for; WebSocket clients name them again in the URL
};

struct Output {
  Channel channel;  // Stdout or Stderr
  std::string data;
};

// The container side of one exec or attach.
class Session {
 public:
  virtual ~Session() = default;
  // Blocks for the next output; nothing once the output has ended.
  virtual std::optional<Output> read() = 0;
  virtual Result<> writeStdin(std::string_view data) = 0;
  virtual void closeStdin() = 0;
  virtual void resize(uint16_t width, uint16_t height) = 0;
  // After read() has ended: the exit code (exec) or 0 (attach).
  virtual Result<int> wait() = 0;
  // The client went away: an exec's process is killed, an attach detaches.
  // Safe to call from another thread while read() blocks.
  virtual void abort() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<std::unique_ptr<Session>> exec(const ExecRequest& req) = 0;
  virtual Result<std::unique_ptr<Session>> attach(const AttachRequest& req) = 0;
  // A TCP connection to localhost:port inside the pod's network namespace.
  virtual Result<sys::UniqueFd> connect(const std::string& sandboxId, uint16_t port) = 0;
};

}  // namespace crix::streaming
