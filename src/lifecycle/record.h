// Record<T>: one object's state behind its own lock, written only through
// itself. update() changes a copy, has the caller persist it (the row), and
// only then makes it the state, so a failed write changes nothing and rows
// never go stale; retire() deletes the row under the same lock, so no later
// update can write it back. Waiters are woken by every update.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "common/error.h"

namespace crix::lifecycle {

template <typename T>
class Record {
 public:
  explicit Record(T value) : value_(std::move(value)) {}

  T snapshot() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  // Calls `fn` with the value under the lock, without a copy.
  void read(const std::function<void(const T&)>& fn) const {
    std::lock_guard lock(mu_);
    fn(value_);
  }
  // `change` edits a copy and says whether it changed anything; `persist`
  // writes the copy. NotFound once retired (`what` names the object).
  Result<> update(const std::function<bool(T&)>& change, const std::function<Result<>(const T&)>& persist,
                  const std::string& what) {
    std::lock_guard lock(mu_);
    if (retired_) return fail(Code::NotFound, what + " was removed");
    T next = value_;
    if (!change(next)) return {};
    TRY(persist(next));
    value_ = std::move(next);
    changed_.notify_all();
    return {};
  }
  Result<> retire(const std::function<Result<>()>& deleteRow) {
    std::lock_guard lock(mu_);
    if (retired_) return {};
    TRY(deleteRow());
    retired_ = true;
    changed_.notify_all();
    return {};
  }
  bool retired() const {
    std::lock_guard lock(mu_);
    return retired_;
  }
  // Waits until `done(value)` holds or the record is retired (true), or
  // `limit` passes or `cancelled` turns true (false). `poll` runs between
  // slices, for a change nobody signalled.
  bool waitFor(const std::function<bool(const T&)>& done, std::chrono::milliseconds limit,
               const std::function<bool()>& cancelled, const std::function<void()>& poll) {
    constexpr auto kSlice = std::chrono::milliseconds(200);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      {
        std::unique_lock lock(mu_);
        auto until = std::min(deadline, std::chrono::steady_clock::now() + kSlice);
        if (changed_.wait_until(lock, until, [&] { return retired_ || done(value_); })) return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (cancelled && cancelled()) return false;
      if (poll) poll();
    }
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  T value_;
  bool retired_ = false;
};

}  // namespace crix::lifecycle
