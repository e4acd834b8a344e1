#include "lifecycle/events.h"

namespace crix::lifecycle {

std::optional<Event> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || dropped_; });
  if (queue_.empty()) return std::nullopt;
  Event e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

bool EventBus::Subscription::dropped() {
  std::lock_guard lock(mu_);
  return dropped_ && queue_.empty();
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
  auto s = std::make_shared<Subscription>();
  std::lock_guard lock(mu_);
  subs_.insert(s);
  return s;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard lock(mu_);
  subs_.erase(s);
}

void EventBus::publish(const Event& e) {
  std::lock_guard lock(mu_);
  for (auto it = subs_.begin(); it != subs_.end();) {
    auto& s = **it;
    std::lock_guard slock(s.mu_);
    if (s.queue_.size() >= limit_) {
      s.dropped_ = true;
      s.queue_.clear();
      s.cv_.notify_all();
      it = subs_.erase(it);
      continue;
    }
    s.queue_.push_back(e);
    s.cv_.notify_all();
    ++it;
  }
}

}  // namespace crix::lifecycle
