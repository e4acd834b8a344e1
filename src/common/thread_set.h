// ThreadSet: the threads an object starts for work that ends by itself (a
// connection, a background delete), owned so that none of them outlives the
// object. A thread that has ended is joined when the next one starts, so the
// set holds only the work in flight; joinAll() (and the destructor) waits for
// the rest. The owner makes its threads end first, e.g. by shutting down
// their sockets, and joins before destroying what they use.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace crix {

class ThreadSet {
 public:
  ThreadSet() = default;
  ~ThreadSet() { joinAll(); }
  ThreadSet(const ThreadSet&) = delete;
  ThreadSet& operator=(const ThreadSet&) = delete;

  // Runs `work` on a new thread, after joining the threads that have ended.
  template <typename F>
  void start(F&& work) {
    std::list<Entry> ended;  // joined as the function returns, after the unlock
    std::lock_guard lock(mu_);
    for (auto it = threads_.begin(); it != threads_.end();) {
      auto next = std::next(it);
      if (it->done) ended.splice(ended.end(), threads_, it);
      it = next;
    }
    Entry& entry = threads_.emplace_back();
    entry.thread = std::jthread([this, &entry, w = std::optional<std::decay_t<F>>(std::forward<F>(work))]() mutable {
      (*w)();
      w.reset();  // what the work holds (a socket, say) goes before the thread counts as ended
      std::lock_guard done(mu_);
      entry.done = true;
    });
  }

  // Threads started and not yet ended.
  size_t running() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& e : threads_) n += e.done ? 0 : 1;
    return n;
  }

  // Waits for every thread started so far.
  void joinAll() {
    std::list<Entry> all;
    {
      std::lock_guard lock(mu_);
      all.swap(threads_);
    }
    // Joined without the lock, which each thread takes last. The nodes
    // keep their addresses across the swap, so the threads' entries stay.
    all.clear();
  }

 private:
  struct Entry {
    std::jthread thread;
    bool done = false;  // guarded by mu_
  };

  std::mutex mu_;
  std::list<Entry> threads_;
};

}  // namespace crix
