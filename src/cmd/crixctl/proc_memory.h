// The memory a runtime under test uses: its daemon, found from the socket it
// listens on, and its per-pod or per-container monitor processes (conmon for
// crix and CRI-O, containerd-shim* for containerd), read from
// /proc/<pid>/smaps_rollup. PSS splits shared pages between the processes
// that map them, so summing PSS over a hundred monitors does not count their
// shared binary a hundred times the way summing RSS does.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace crix::bench {

struct ProcMemory {
  uint64_t rssKb = 0, pssKb = 0;
  ProcMemory& operator+=(const ProcMemory& o) {
    rssKb += o.rssKb;
    pssKb += o.pssKb;
    return *this;
  }
};

struct MemorySample {
  ProcMemory daemon;
  ProcMemory monitors;
  size_t monitorCount = 0;
  size_t pods = 0, containers = 0;  // the bench's own, alive when sampled
  uint64_t totalPssKb() const { return daemon.pssKb + monitors.pssKb; }
  uint64_t totalRssKb() const { return daemon.rssKb + monitors.rssKb; }
};

// The process that listens on the unix socket `path` (from /proc/net/unix
// and the socket inodes in /proc/*/fd); the topmost one if several share it.
Result<pid_t> socketOwner(const std::string& path);

Result<ProcMemory> readProcMemory(pid_t pid);

// The runtime's monitors: processes named conmon or containerd-shim* that
// descend from the daemon or whose command line names one of `pathHints`
// (conmon and containerd-shim daemonize, so most are orphans of the daemon).
class MonitorFinder {
 public:
  MonitorFinder(pid_t daemon, std::vector<std::string> pathHints);
  std::vector<pid_t> find();

 private:
  bool isMonitor(pid_t pid) const;
  bool descendsFromDaemon(pid_t pid) const;

  pid_t daemon_;
  std::vector<std::string> hints_;
  std::unordered_map<pid_t, bool> known_;  // pid -> is a monitor
};

// Samples a runtime's memory on its own thread until stopped and keeps the
// sample with the highest total PSS.
class MemorySampler {
 public:
  // Counts the bench's pods and containers alive, for each sample.
  using AliveCounter = std::function<std::pair<size_t, size_t>()>;

  MemorySampler(pid_t daemon, std::vector<std::string> pathHints, std::chrono::milliseconds interval,
                AliveCounter alive);
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;

  MemorySample sampleNow();
  void start();
  // Stops the thread; returns the peak seen since start().
  MemorySample stop();

 private:
  void loop();

  pid_t daemon_;
  MonitorFinder monitors_;
  std::chrono::milliseconds interval_;
  AliveCounter alive_;
  std::mutex mu_;  // guards monitors_ and peak_
  MemorySample peak_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace crix::bench
