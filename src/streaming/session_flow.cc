#include "streaming/session_flow.h"

#include <nlohmann/json.hpp>

namespace crix::streaming {

Session* SessionInput::waitBound(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return bound_ || gone_; });
  return session_;
}

void SessionInput::stdinData(std::string_view data) {
  std::unique_lock lock(mu_);
  if (Session* s = waitBound(lock)) (void)s->writeStdin(data);
}

void SessionInput::stdinEnd() {
  std::unique_lock lock(mu_);
  if (Session* s = waitBound(lock)) s->closeStdin();
}

void SessionInput::resize(uint16_t width, uint16_t height) {
  std::lock_guard lock(mu_);
  if (!bound_) {
    pendingSize_ = TerminalSize{width, height};
    cv_.notify_all();
  } else if (session_) {
    session_->resize(width, height);
  }
}

std::optional<TerminalSize> SessionInput::firstSize(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return pendingSize_.has_value() || gone_; });
  return pendingSize_;
}

void SessionInput::clientGone() {
  std::lock_guard lock(mu_);
  gone_ = true;
  if (session_) session_->abort();
  cv_.notify_all();
}

void SessionInput::bind(Session* session) {
  std::lock_guard lock(mu_);
  session_ = session;
  bound_ = true;
  if (session_ && pendingSize_) session_->resize(pendingSize_->width, pendingSize_->height);
  if (session_ && gone_) session_->abort();
  cv_.notify_all();
}

Outcome runSession(const SessionStarter& start, bool tty, SessionInput& input, ClientSink& sink) {
  constexpr std::chrono::milliseconds kFirstSizeWait{500};
  Outcome out;
  auto session = start(tty ? input.firstSize(kFirstSizeWait) : std::nullopt);
  if (!session) {
    input.bind(nullptr);
    out.error = session.error().message();
    sink.finish(out);
    return out;
  }
  out.started = true;
  Session& s = **session;
  input.bind(&s);
  while (auto chunk = s.read()) {
    if (!sink.send(chunk->channel, chunk->data)) {
      s.abort();  // keeps reading until the session's output ends
    }
  }
  input.bind(nullptr);
  if (auto code = s.wait(); code)
    out.exitCode = *code;
  else
    out.error = code.error().message();
  sink.finish(out);
  return out;
}

std::string statusMessage(const Outcome& outcome, bool jsonStatus) {
  std::string text;
  if (!outcome.error.empty())
    text = outcome.error;
  else if (outcome.exitCode != 0)
    text = "command terminated with non-zero exit code: exit status " + std::to_string(outcome.exitCode);
  if (!jsonStatus) return text;

  nlohmann::json status = {{"metadata", nlohmann::json::object()}};
  if (text.empty()) {
    status["status"] = "Success";
  } else if (outcome.error.empty()) {
    status["status"] = "Failure";
    status["message"] = text;
    status["reason"] = "NonZeroExitCode";
    status["details"] = {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(outcome.exitCode)}}}}};
  } else {
    status["status"] = "Failure";
    status["message"] = text;
    status["reason"] = "InternalError";
    status["code"] = 500;
  }
  return status.dump();
}

void parseResizes(std::string& buffer, const std::function<void(uint16_t, uint16_t)>& apply) {
  size_t nl;
  while ((nl = buffer.find('\n')) != std::string::npos) {
    auto j = nlohmann::json::parse(buffer.substr(0, nl), nullptr, false);
    buffer.erase(0, nl + 1);
    if (!j.is_object()) continue;
    auto w = j.value("Width", 0), h = j.value("Height", 0);
    if (w > 0 && h > 0 && w <= 0xffff && h <= 0xffff) apply(static_cast<uint16_t>(w), static_cast<uint16_t>(h));
  }
  // A client that never ends its lines must not grow the buffer forever.
  if (buffer.size() > 4096) buffer.clear();
}

}  // namespace crix::streaming
