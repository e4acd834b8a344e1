// EntryIndex<E>: finds the entries of one kind (pods, containers) by id, id
// prefix and reserved name. Its lock only finds: it is never held across
// I/O or while an entry's own lock is taken. E has id(), name() and
// createdAt(), all fixed at creation.
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::lifecycle {

template <typename E>
class EntryIndex {
 public:
  using Ptr = std::shared_ptr<E>;
  // `kind` names the objects in errors ("container", "pod sandbox").
  explicit EntryIndex(std::string kind) : kind_(std::move(kind)) {}

  // Reserves `name` for the object `id`; AlreadyExists naming the holder.
  Result<> reserve(const std::string& name, const std::string& id) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = names_.emplace(name, id);
    if (!inserted && it->second != id)
      return fail(Code::AlreadyExists, "cannot reserve " + kind_ + " name \"" + name + "\": taken by " + it->second);
    return {};
  }
  void unreserve(const std::string& name, const std::string& id) {
    std::lock_guard lock(mu_);
    if (auto it = names_.find(name); it != names_.end() && it->second == id) names_.erase(it);
  }
  // Adds an entry; its name becomes its id's.
  void add(Ptr e) {
    std::lock_guard lock(mu_);
    names_[e->name()] = e->id();
    byId_[e->id()] = std::move(e);
  }
  // Drops the entry and its name (not a newer entry of the same id or name).
  void erase(const Ptr& e) {
    std::lock_guard lock(mu_);
    if (auto it = byId_.find(e->id()); it != byId_.end() && it->second == e) byId_.erase(it);
    if (auto it = names_.find(e->name()); it != names_.end() && it->second == e->id()) names_.erase(it);
  }
  // By full id or unique prefix: NotFound, or InvalidArgument when ambiguous.
  Result<Ptr> find(const std::string& idOrPrefix) const {
    std::lock_guard lock(mu_);
    if (auto it = byId_.find(idOrPrefix); it != byId_.end()) return it->second;
    // Ids sort, so those with this prefix are adjacent, from lower_bound on.
    auto it = idOrPrefix.empty() ? byId_.end() : byId_.lower_bound(idOrPrefix);
    if (it == byId_.end() || !it->first.starts_with(idOrPrefix))
      return fail(Code::NotFound, kind_ + " \"" + idOrPrefix + "\" not found");
    if (auto next = std::next(it); next != byId_.end() && next->first.starts_with(idOrPrefix))
      return fail(Code::InvalidArgument, kind_ + " id prefix \"" + idOrPrefix + "\" is ambiguous");
    return it->second;
  }
  // Every entry, oldest first: a snapshot of the index (entries may go meanwhile).
  std::vector<Ptr> all() const {
    std::vector<Ptr> out;
    {
      std::lock_guard lock(mu_);
      out.reserve(byId_.size());
      for (const auto& [_, e] : byId_) out.push_back(e);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Ptr& a, const Ptr& b) { return a->createdAt() < b->createdAt(); });
    return out;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return byId_.size();
  }

 private:
  const std::string kind_;
  mutable std::mutex mu_;
  std::map<std::string, Ptr> byId_;
  std::map<std::string, std::string> names_;  // reserved name → id
};

}  // namespace crix::lifecycle
