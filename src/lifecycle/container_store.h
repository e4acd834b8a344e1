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
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "lifecycle/container.h"

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

  Container snapshot() const;
  // Calls `fn` with the container under the state lock, without a copy.
  void read(const std::function<void(const Container&)>& fn) const;
  // Changes the container: `change` edits a copy, `persist` writes it (the
  // row), and only then does the copy become the state; a failed write
  // changes nothing and is returned. Exit waiters wake when it exited.
  // NotFound once the entry is retired.
  Result<> update(const std::function<bool(Container&)>& change,
                  const std::function<Result<>(const Container&)>& persist);
  // Removes the container for good: `deleteRow` runs under the state lock,
  // so no later update can write the row back.
  Result<> retire(const std::function<Result<>()>& deleteRow);
  bool retired() const;

  // Waits until the container is EXITED or retired, `limit` at most, or
  // until `cancelled` says the caller went away; `poll` runs between
  // slices, for exits nobody signalled (a missed inotify event).
  bool waitExited(std::chrono::milliseconds limit, const std::function<bool()>& cancelled,
                  const std::function<void()>& poll);

  void setOp(ContainerOp op);
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
  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable exited_;
  Container c_;
  ContainerOp current_ = ContainerOp::None;
  bool retired_ = false;
  std::optional<Usage> usage_;
};

using EntryPtr = std::shared_ptr<ContainerEntry>;

class ContainerStore {
 public:
  // Reserves `name` for the container `id`; AlreadyExists naming the holder.
  Result<> reserve(const std::string& name, const std::string& id);
  void unreserve(const std::string& name, const std::string& id);
  // Adds an entry whose name its id holds.
  void add(EntryPtr e);
  // Drops the entry and its name.
  void erase(const EntryPtr& e);
  // By full id or unique prefix: NotFound, or InvalidArgument when ambiguous.
  Result<EntryPtr> find(const std::string& idOrPrefix) const;
  // Every entry, oldest first (a snapshot of the map: entries may retire meanwhile).
  std::vector<EntryPtr> all() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;  // finds entries; never held across I/O or an entry's lock
  std::map<std::string, EntryPtr> byId_;
  std::map<std::string, std::string> names_;  // reserved name → id
};

}  // namespace crix::lifecycle
