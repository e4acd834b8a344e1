#include "server/streaming_backend.h"

namespace crix::server {
namespace {

// An OCI stream process, seen as a streaming session.
class ProcessSession final : public streaming::Session {
 public:
  explicit ProcessSession(std::unique_ptr<oci::StreamProcess> p) : p_(std::move(p)) {}

  std::optional<streaming::Output> read() override {
    auto chunk = p_->read();
    if (!chunk) return std::nullopt;
    auto channel = chunk->first == 2 ? streaming::Channel::Stderr : streaming::Channel::Stdout;
    return streaming::Output{channel, std::move(chunk->second)};
  }
  Result<> writeStdin(std::string_view data) override { return p_->writeStdin(data); }
  void closeStdin() override { p_->closeStdin(); }
  void resize(uint16_t width, uint16_t height) override { p_->resize(width, height); }
  Result<int> wait() override { return p_->wait(); }
  void abort() override { p_->abort(); }

 private:
  std::unique_ptr<oci::StreamProcess> p_;
};

}  // namespace

Result<std::unique_ptr<streaming::Session>> StreamingBackend::exec(const streaming::ExecRequest& req) {
  auto p = TRY(containers_.execStream(req.containerId, req.cmd,
                                      {.tty = req.tty,
                                       .stdin = req.stdin,
                                       .stdout = req.stdout,
                                       .stderr = req.stderr,
                                       .width = req.width,
                                       .height = req.height}));
  return std::unique_ptr<streaming::Session>(new ProcessSession(std::move(p)));
}

Result<std::unique_ptr<streaming::Session>> StreamingBackend::attach(const streaming::AttachRequest& req) {
  auto p = TRY(containers_.attach(req.containerId));
  return std::unique_ptr<streaming::Session>(new ProcessSession(std::move(p)));
}

Result<sys::UniqueFd> StreamingBackend::connect(const std::string& sandboxId, uint16_t port) {
  return pods_.connectPort(sandboxId, port);
}

}  // namespace crix::server
