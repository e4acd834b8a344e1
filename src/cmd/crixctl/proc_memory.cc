#include "cmd/crixctl/proc_memory.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace crix::bench {
namespace {

constexpr unsigned long kListening = 0x10000;  // __SO_ACCEPTCON in /proc/net/unix flags

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<pid_t> allPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

// The inode of the listening unix socket bound to `path`, 0 if none.
unsigned long listeningInode(const std::string& path) {
  std::istringstream in(slurp("/proc/net/unix"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string num, bound;
    unsigned long ref, proto, flags, type, st, inode;
    fields >> num >> std::hex >> ref >> proto >> flags >> type >> st >> std::dec >> inode >> bound;
    if (fields && bound == path && (flags & kListening) != 0) return inode;
  }
  return 0;
}

bool holdsInode(pid_t pid, const std::string& link) {
  std::string fdDir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(fdDir.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  char target[64];
  while (dirent* e = ::readdir(dir)) {
    ssize_t n = ::readlinkat(::dirfd(dir), e->d_name, target, sizeof target);
    if (n > 0 && link.compare(0, std::string::npos, target, static_cast<size_t>(n)) == 0) {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

// Fields of /proc/<pid>/stat after the command name, which may hold spaces.
struct Stat {
  std::string comm;
  pid_t ppid = 0;
};

bool readStat(pid_t pid, Stat* st) {
  std::string text = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  st->comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  char state = 0;
  rest >> state >> st->ppid;
  return static_cast<bool>(rest);
}

bool isMonitorName(const std::string& comm) {
  return comm == "conmon" || comm.starts_with("containerd-shim");
}

}  // namespace

Result<pid_t> socketOwner(const std::string& path) {
  unsigned long inode = listeningInode(path);
  if (inode == 0) return fail(Code::NotFound, "no process listens on unix socket " + path);
  std::string link = "socket:[" + std::to_string(inode) + "]";
  std::set<pid_t> holders;
  for (pid_t pid : allPids())
    if (holdsInode(pid, link)) holders.insert(pid);
  for (pid_t pid : holders) {
    Stat st;
    if (readStat(pid, &st) && !holders.contains(st.ppid)) return pid;
  }
  return fail(Code::NotFound, "no process holds unix socket " + path + " (inode " + std::to_string(inode) + ")");
}

Result<ProcMemory> readProcMemory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!in) return fail(Code::NotFound, "cannot read smaps_rollup of pid " + std::to_string(pid));
  ProcMemory m;
  std::string key;
  uint64_t kb = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    if (!(fields >> key >> kb)) continue;
    if (key == "Rss:") m.rssKb = kb;
    if (key == "Pss:") m.pssKb = kb;
  }
  return m;
}

MonitorFinder::MonitorFinder(pid_t daemon, std::vector<std::string> pathHints)
    : daemon_(daemon), hints_(std::move(pathHints)) {}

std::vector<pid_t> MonitorFinder::find() {
  std::unordered_map<pid_t, bool> seen;
  std::vector<pid_t> monitors;
  for (pid_t pid : allPids()) {
    auto it = known_.find(pid);
    bool monitor = it != known_.end() ? it->second : isMonitor(pid);
    seen.emplace(pid, monitor);
    if (monitor) monitors.push_back(pid);
  }
  known_ = std::move(seen);  // forgets exited processes
  return monitors;
}

bool MonitorFinder::isMonitor(pid_t pid) const {
  Stat st;
  if (pid == daemon_ || !readStat(pid, &st) || !isMonitorName(st.comm)) return false;
  if (descendsFromDaemon(pid)) return true;
  std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return std::any_of(hints_.begin(), hints_.end(),
                     [&](const std::string& h) { return cmdline.find(h) != std::string::npos; });
}

bool MonitorFinder::descendsFromDaemon(pid_t pid) const {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    Stat st;
    if (!readStat(pid, &st)) return false;
    if (st.ppid == daemon_) return true;
    pid = st.ppid;
  }
  return false;
}

MemorySampler::MemorySampler(pid_t daemon, std::vector<std::string> pathHints, std::chrono::milliseconds interval,
                             AliveCounter alive)
    : daemon_(daemon), monitors_(daemon, std::move(pathHints)), interval_(interval), alive_(std::move(alive)) {}

MemorySampler::~MemorySampler() {
  stop();
}

MemorySample MemorySampler::sampleNow() {
  std::lock_guard lock(mu_);
  MemorySample s;
  std::tie(s.pods, s.containers) = alive_();
  if (auto m = readProcMemory(daemon_)) s.daemon = *m;
  for (pid_t pid : monitors_.find()) {
    auto m = readProcMemory(pid);
    if (!m) continue;  // exited since the scan
    s.monitors += *m;
    ++s.monitorCount;
  }
  return s;
}

void MemorySampler::start() {
  peak_ = sampleNow();
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

MemorySample MemorySampler::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return peak_;
}

void MemorySampler::loop() {
  constexpr auto kSlice = std::chrono::milliseconds(20);
  auto next = std::chrono::steady_clock::now() + interval_;
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    if (now < next) {
      std::this_thread::sleep_for(kSlice);
      continue;
    }
    next = std::max(next + interval_, now);  // a slow sample does not cause a burst
    MemorySample s = sampleNow();
    std::lock_guard lock(mu_);
    if (s.totalPssKb() > peak_.totalPssKb()) peak_ = s;
  }
}

}  // namespace crix::bench
