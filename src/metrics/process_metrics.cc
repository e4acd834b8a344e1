#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "sys/fs.h"

namespace crix::metrics {
namespace {

// Open descriptors, not counting the one that reads the directory.
double openFds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  int self = ::dirfd(d);
  double n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (std::to_string(self) == e->d_name) continue;
    ++n;
  }
  ::closedir(d);
  return n;
}

FamilySnapshot single(const char* name, const char* help, double value, Type type = Type::Gauge) {
  return {name, help, type, {{name, {}, value}}};
}

}  // namespace

ProcessSample parseProcStat(std::string_view selfStat, std::string_view systemStat, long pageSize,
                            long ticksPerSecond) {
  ProcessSample s;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  size_t close = selfStat.rfind(')');
  if (close == std::string_view::npos || pageSize <= 0 || ticksPerSecond <= 0) return s;
  std::istringstream in{std::string(selfStat.substr(close + 1))};
  // Fields from 3 (state) on; utime is 14, stime 15, starttime 22, vsize 23, rss 24.
  std::vector<std::string> f;
  for (std::string field; in >> field;) f.push_back(field);
  if (f.size() < 22) return s;
  auto num = [&](int field) { return std::strtod(f[static_cast<size_t>(field - 3)].c_str(), nullptr); };
  s.cpuSeconds = (num(14) + num(15)) / static_cast<double>(ticksPerSecond);
  s.virtualBytes = num(23);
  s.residentBytes = num(24) * static_cast<double>(pageSize);
  double bootTime = 0;
  std::istringstream sys{std::string(systemStat)};
  for (std::string line; std::getline(sys, line);) {
    if (line.starts_with("btime ")) bootTime = std::strtod(line.c_str() + 6, nullptr);
  }
  if (bootTime <= 0) return s;
  s.startTimeSeconds = bootTime + num(22) / static_cast<double>(ticksPerSecond);
  s.ok = true;
  return s;
}

void addProcessCollector(Registry& registry) {
  registry.addCollector([](std::vector<FamilySnapshot>& out) {
    auto self = sys::readFile("/proc/self/stat");
    auto system = sys::readFile("/proc/stat");
    if (self && system) {
      auto s = parseProcStat(*self, *system, ::sysconf(_SC_PAGESIZE), ::sysconf(_SC_CLK_TCK));
      if (s.ok) {
        out.push_back(single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                             s.cpuSeconds, Type::Counter));
        out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.", s.residentBytes));
        out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.", s.virtualBytes));
        out.push_back(single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                             s.startTimeSeconds));
      }
    }
    out.push_back(single("process_open_fds", "Number of open file descriptors.", openFds()));
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
      out.push_back(
          single("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(lim.rlim_cur)));
  });
}

}  // namespace crix::metrics
