// Container and pod lifecycle events, for GetContainerEvents (the kubelet's
// evented PLEG). Publishers never block: each subscriber has a bounded
// queue, and a subscriber that falls that far behind is dropped (its stream
// ends, and the kubelet re-lists and subscribes again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace crix::lifecycle {

enum class EventType { Created, Started, Stopped, Deleted };

struct Event {
  std::string id;     // container id, or the pod id for a pod's own events
  std::string podId;  // the pod it belongs to
  EventType type = EventType::Created;
  int64_t at = 0;  // ns since the epoch
};

class EventBus {
 public:
  class Subscription {
   public:
    // The next event, waiting up to `timeout`; nothing on timeout or when
    // this subscriber was dropped (see dropped()).
    std::optional<Event> next(std::chrono::milliseconds timeout);
    bool dropped();

   private:
    friend class EventBus;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    bool dropped_ = false;
  };

  explicit EventBus(size_t queueLimit = 1024) : limit_(queueLimit) {}

  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& s);
  void publish(const Event& e);

 private:
  size_t limit_;
  std::mutex mu_;
  std::set<std::shared_ptr<Subscription>> subs_;
};

}  // namespace crix::lifecycle
