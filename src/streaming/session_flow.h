// The part of exec and attach that does not depend on the wire protocol:
// input from the client goes to the session once it runs, output from the
// session goes to the client, and the end is reported on the error channel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "streaming/backend.h"

namespace crix::streaming {

struct TerminalSize {
  uint16_t width = 0, height = 0;
};

// Client input, called from the transport's reader thread. Input that
// arrives before the session has started waits for it.
class SessionInput {
 public:
  void stdinData(std::string_view data);
  void stdinEnd();
  // Before the session starts, the latest size is kept for its start.
  void resize(uint16_t width, uint16_t height);
  // The client disconnected: the session is aborted, now or when it starts.
  void clientGone();

  // Called by runSession: the session to feed, or nullptr when it ended or
  // never started. Blocks while the reader thread is inside the session.
  void bind(Session* session);
  // The terminal size the client sent first, waiting up to `timeout` for it.
  std::optional<TerminalSize> firstSize(std::chrono::milliseconds timeout);

 private:
  // Waits until bind() has decided; returns the session or nullptr.
  Session* waitBound(std::unique_lock<std::mutex>& lock);

  std::mutex mu_;
  std::condition_variable cv_;
  Session* session_ = nullptr;
  bool bound_ = false;  // bind() was called at least once
  bool gone_ = false;
  std::optional<TerminalSize> pendingSize_;
};

// How a session ended, in the words of the Kubernetes streaming protocols.
struct Outcome {
  bool started = false;
  int exitCode = 0;
  std::string error;  // set when it failed to start or to finish
};

// The client's output channels.
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  // False once the client is gone.
  virtual bool send(Channel channel, std::string_view data) = 0;
  // Reports the outcome on the error channel and closes every channel.
  virtual void finish(const Outcome& outcome) = 0;
};

// Starts the session, given the terminal's first size when there is one.
using SessionStarter = std::function<Result<std::unique_ptr<Session>>(std::optional<TerminalSize>)>;

// Starts the session, streams its output to the client until it ends, and
// reports the outcome. With `tty`, the client's first resize (which clients
// send at once) is waited for briefly, so that the process starts with the
// right size. Returns the outcome for the log.
Outcome runSession(const SessionStarter& start, bool tty, SessionInput& input, ClientSink& sink);

// The error channel's message. For v4 clients a JSON metav1.Status: Success,
// or Failure with reason NonZeroExitCode and an ExitCode cause; for older
// clients plain text, empty on success.
std::string statusMessage(const Outcome& outcome, bool jsonStatus);

// Parses the resize channel: JSON objects {"Width":w,"Height":h}, one per
// line. Consumes the complete lines of `buffer` and calls `apply` for each.
void parseResizes(std::string& buffer, const std::function<void(uint16_t, uint16_t)>& apply);

}  // namespace crix::streaming
