#include "lifecycle/container_store.h"

#include <algorithm>

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
    : id_(c.id), podId_(c.podId), name_(c.name), createdAt_(c.createdAt), c_(std::move(c)) {}

Container ContainerEntry::snapshot() const {
  std::lock_guard lock(mu_);
  return c_;
}

void ContainerEntry::read(const std::function<void(const Container&)>& fn) const {
  std::lock_guard lock(mu_);
  fn(c_);
}

Result<> ContainerEntry::update(const std::function<bool(Container&)>& change,
                                const std::function<Result<>(const Container&)>& persist) {
  std::lock_guard lock(mu_);
  if (retired_) return fail(Code::NotFound, "container " + id_ + " was removed");
  Container next = c_;
  if (!change(next)) return {};
  TRY(persist(next));
  bool exited = next.state == ContainerState::Exited && c_.state != ContainerState::Exited;
  c_ = std::move(next);
  if (exited) exited_.notify_all();
  return {};
}

Result<> ContainerEntry::retire(const std::function<Result<>()>& deleteRow) {
  std::lock_guard lock(mu_);
  if (retired_) return {};
  TRY(deleteRow());
  retired_ = true;
  exited_.notify_all();
  return {};
}

bool ContainerEntry::retired() const {
  std::lock_guard lock(mu_);
  return retired_;
}

bool ContainerEntry::waitExited(std::chrono::milliseconds limit, const std::function<bool()>& cancelled,
                                const std::function<void()>& poll) {
  // Woken by update() at once; the slices only bound how late a missed
  // exit or a cancelled caller is noticed.
  constexpr auto kSlice = std::chrono::milliseconds(200);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    {
      std::unique_lock lock(mu_);
      auto done = [&] { return retired_ || c_.state == ContainerState::Exited; };
      auto until = std::min(deadline, std::chrono::steady_clock::now() + kSlice);
      if (exited_.wait_until(lock, until, done)) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (cancelled && cancelled()) return false;
    if (poll) poll();
  }
}

void ContainerEntry::setOp(ContainerOp op) {
  std::lock_guard lock(mu_);
  current_ = op;
}

ContainerOp ContainerEntry::op() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::optional<ContainerEntry::Usage> ContainerEntry::usage(std::chrono::seconds maxAge) const {
  std::lock_guard lock(mu_);
  if (!usage_ || std::chrono::steady_clock::now() - usage_->at > maxAge) return std::nullopt;
  return usage_;
}

void ContainerEntry::setUsage(int64_t bytes, int64_t inodes) {
  std::lock_guard lock(mu_);
  usage_ = Usage{bytes, inodes, std::chrono::steady_clock::now()};
}

Result<> ContainerStore::reserve(const std::string& name, const std::string& id) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = names_.emplace(name, id);
  if (!inserted && it->second != id)
    return fail(Code::AlreadyExists, "cannot reserve container name \"" + name + "\": taken by " + it->second);
  return {};
}

void ContainerStore::unreserve(const std::string& name, const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto it = names_.find(name); it != names_.end() && it->second == id) names_.erase(it);
}

void ContainerStore::add(EntryPtr e) {
  std::lock_guard lock(mu_);
  names_[e->name()] = e->id();
  byId_[e->id()] = std::move(e);
}

void ContainerStore::erase(const EntryPtr& e) {
  std::lock_guard lock(mu_);
  if (auto it = byId_.find(e->id()); it != byId_.end() && it->second == e) byId_.erase(it);
  if (auto it = names_.find(e->name()); it != names_.end() && it->second == e->id()) names_.erase(it);
}

Result<EntryPtr> ContainerStore::find(const std::string& idOrPrefix) const {
  std::lock_guard lock(mu_);
  if (auto it = byId_.find(idOrPrefix); it != byId_.end()) return it->second;
  // Ids sort, so the ids with this prefix are adjacent, from lower_bound on.
  auto it = idOrPrefix.empty() ? byId_.end() : byId_.lower_bound(idOrPrefix);
  if (it == byId_.end() || !it->first.starts_with(idOrPrefix))
    return fail(Code::NotFound, "container \"" + idOrPrefix + "\" not found");
  auto next = std::next(it);
  if (next != byId_.end() && next->first.starts_with(idOrPrefix))
    return fail(Code::InvalidArgument, "container id prefix \"" + idOrPrefix + "\" is ambiguous");
  return it->second;
}

std::vector<EntryPtr> ContainerStore::all() const {
  std::vector<EntryPtr> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(byId_.size());
    for (const auto& [_, e] : byId_) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const EntryPtr& a, const EntryPtr& b) { return a->createdAt() < b->createdAt(); });
  return out;
}

size_t ContainerStore::size() const {
  std::lock_guard lock(mu_);
  return byId_.size();
}

}  // namespace crix::lifecycle
