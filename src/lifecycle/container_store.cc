#include "lifecycle/container_store.h"

namespace crix::lifecycle {

const char* opName(ContainerOp op) {
  switch (op) {
    case ContainerOp::None: return "";
    case ContainerOp::Starting: return "starting";
    case ContainerOp::Stopping: return "stopping";
    case ContainerOp::Removing: return "removing";
    case ContainerOp::Updating: return "updating";
  }
  return "";
}

ContainerEntry::ContainerEntry(Container c)
    : id_(c.id), podId_(c.podId), name_(c.name), createdAt_(c.createdAt), record_(std::move(c)) {}

void ContainerEntry::setOp(ContainerOp op) {
  std::lock_guard lock(flagsMu_);
  current_ = op;
}

void ContainerEntry::clearOp(ContainerOp op) {
  std::lock_guard lock(flagsMu_);
  if (current_ == op) current_ = ContainerOp::None;
}

ContainerOp ContainerEntry::op() const {
  std::lock_guard lock(flagsMu_);
  return current_;
}

std::optional<ContainerEntry::Usage> ContainerEntry::usage(std::chrono::seconds maxAge) const {
  std::lock_guard lock(flagsMu_);
  if (!usage_ || std::chrono::steady_clock::now() - usage_->at > maxAge) return std::nullopt;
  return usage_;
}

void ContainerEntry::setUsage(int64_t bytes, int64_t inodes) {
  std::lock_guard lock(flagsMu_);
  usage_ = Usage{bytes, inodes, std::chrono::steady_clock::now()};
}

}  // namespace crix::lifecycle
