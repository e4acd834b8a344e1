// The pods crixd knows, each an entry with its own locks (the same shape as
// container_store.h):
//
//   PodStore ──(finds entries only)──► PodEntry (shared_ptr)
//                                       ├─ op lock (shared_mutex): StopPodSandbox, RemovePodSandbox and the
//                                       │  start-up network check hold it exclusively, CreateContainer shared,
//                                       │  so no container is made in a pod that is going away
//                                       └─ Record<Sandbox>: the state, its row written under its lock;
//                                          retired once RemovePodSandbox deleted the row
#pragma once

#include <shared_mutex>
#include <string>

#include "lifecycle/entry_index.h"
#include "lifecycle/record.h"
#include "lifecycle/sandbox.h"

namespace crix::lifecycle {

class PodEntry {
 public:
  explicit PodEntry(Sandbox s) : id_(s.id), name_(s.name), createdAt_(s.createdAt), record_(std::move(s)) {}

  const std::string& id() const { return id_; }
  const std::string& name() const { return name_; }
  int64_t createdAt() const { return createdAt_; }

  std::shared_mutex& opLock() { return op_; }
  Sandbox snapshot() const { return record_.snapshot(); }
  void read(const std::function<void(const Sandbox&)>& fn) const { record_.read(fn); }
  Result<> update(const std::function<bool(Sandbox&)>& change, const std::function<Result<>(const Sandbox&)>& persist) {
    return record_.update(change, persist, "pod sandbox " + id_);
  }
  Result<> retire(const std::function<Result<>()>& deleteRow) { return record_.retire(deleteRow); }
  bool retired() const { return record_.retired(); }

 private:
  const std::string id_, name_;
  const int64_t createdAt_;
  std::shared_mutex op_;
  Record<Sandbox> record_;
};

using PodPtr = std::shared_ptr<PodEntry>;

class PodStore : public EntryIndex<PodEntry> {
 public:
  PodStore() : EntryIndex("pod sandbox") {}
};

}  // namespace crix::lifecycle
