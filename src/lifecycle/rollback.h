// Rollback: undo actions for a multi-step operation, run newest first
// unless the operation commits. Undo steps must not fail loudly: they log.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace crix::lifecycle {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    if (committed_) return;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  }
  void push(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
  void commit() { committed_ = true; }

 private:
  std::vector<std::function<void()>> undo_;
  bool committed_ = false;
};

}  // namespace crix::lifecycle
