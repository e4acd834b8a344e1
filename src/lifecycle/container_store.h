// The containers crixd knows, each with its own state.
//
//   ContainerStore ──(map lock: finds entries, never held across I/O)──► ContainerEntry (shared_ptr)
//                                                                         ├─ op lock: start, stop's signals,
//                                                                         │  remove, update run one at a time
//                                                                         ├─ state lock: the Container and the
//                                                                         │  flags below; its row is written
//                                                                         │  under it, so rows never go stale
//                                                                         └─ exit condition: signalled when the
//                                                                            container exits or is removed
//
// An entry's life, with its transient flags (the operation running on it):
//
//             create          start                 exit / stop            remove
//   (name) ─────────► CREATED ─────► RUNNING ────────────────────► EXITED ───────► retired
//   reserved            │  starting             stopping                removing     (gone from the
//                       └──────────────── stop (never started) ──────────┘            store; a late
//                                                                                       writer is ignored)
//
// A name is reserved before CreateContainer's first effect; while that
// call runs, an identical call joins it (lifecycle/inflight.h) instead of
// failing AlreadyExists. An entry is written only through itself: nothing
// looks an object up again to write it back.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "lifecycle/container.h"
#include "lifecycle/entry_index.h"
#include "lifecycle/record.h"

namespace crix::lifecycle {

// What is being done to a container right now (its transient flag).
enum class ContainerOp { None, Starting, Stopping, Removing, Updating };
const char* opName(ContainerOp op);

class ContainerEntry {
 public:
  explicit ContainerEntry(Container c);

  // Fields that never change after creation, readable without a lock.
  const std::string& id() const { return id_; }
  const std::string& podId() const { return podId_; }
  const std::string& name() const { return name_; }
  int64_t createdAt() const { return createdAt_; }

  // The operation lock: held by start, remove and update for their whole
  // run, and by stop while it signals (not while it waits for the exit).
  std::mutex& opLock() { return op_; }

  Container snapshot() const { return record_.snapshot(); }
  void read(const std::function<void(const Container&)>& fn) const { record_.read(fn); }
  // Record::update; exit waiters wake when the change made it EXITED.
  Result<> update(const std::function<bool(Container&)>& change,
                  const std::function<Result<>(const Container&)>& persist) {
    return record_.update(change, persist, "container " + id_);
  }
  Result<> retire(const std::function<Result<>()>& deleteRow) { return record_.retire(deleteRow); }
  bool retired() const { return record_.retired(); }

  // Waits until the container is EXITED or retired, `limit` at most, or
  // until `cancelled` says the caller went away; `poll` runs between
  // slices, for exits nobody signalled (a missed inotify event).
  bool waitExited(std::chrono::milliseconds limit, const std::function<bool()>& cancelled,
                  const std::function<void()>& poll) {
    return record_.waitFor([](const Container& c) { return c.state == ContainerState::Exited; }, limit, cancelled,
                           poll);
  }

  void setOp(ContainerOp op);
  // Back to None, unless another operation has taken over the flag since.
  void clearOp(ContainerOp op);
  ContainerOp op() const;

  // The writable layer's size as last measured (ContainerStats, ImageFsInfo).
  struct Usage {
    int64_t bytes = 0, inodes = 0;
    std::chrono::steady_clock::time_point at{};
  };
  // The last measure, when it is younger than `maxAge`.
  std::optional<Usage> usage(std::chrono::seconds maxAge) const;
  void setUsage(int64_t bytes, int64_t inodes);

 private:
  const std::string id_, podId_, name_;
  const int64_t createdAt_;
  std::mutex op_;
  Record<Container> record_;
  mutable std::mutex flagsMu_;  // guards the two below
  ContainerOp current_ = ContainerOp::None;
  std::optional<Usage> usage_;
};

using EntryPtr = std::shared_ptr<ContainerEntry>;

class ContainerStore : public EntryIndex<ContainerEntry> {
 public:
  ContainerStore() : EntryIndex("container") {}
};

}  // namespace crix::lifecycle
