#include "cgroups/stats.h"

#include "cgroups/paths.h"

#include <sys/stat.h>

#include <sstream>

#include "common/parse.h"
#include "sys/fs.h"

namespace crix::cgroups {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// A file holding one number and a newline; 0 when it is missing, "max" or
// anything but a number.
uint64_t number(const std::string& file) {
  auto text = sys::readFile(file);
  if (!text) return 0;
  std::string_view v = *text;
  if (v.ends_with('\n')) v.remove_suffix(1);
  return parseNumber<uint64_t>(v).value_or(0);
}

// A "key value" line from a stat file.
uint64_t field(const std::string& file, const std::string& key) {
  auto text = sys::readFile(file);
  if (!text) return 0;
  std::istringstream in(*text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

// The lines of a file (cgroup.procs, tasks): 0 when it is missing.
uint64_t lines(const std::string& file) {
  auto text = sys::readFile(file);
  if (!text) return 0;
  uint64_t n = 0;
  for (char c : *text) n += c == '\n';
  return n;
}

}  // namespace

Result<Stats> readStats(const std::string& cgroupsPath, const std::string& root) {
  std::string path = TRY(cgroupDirectory(cgroupsPath));
  Stats s;
  std::string v2 = root + path;
  if (exists(v2 + "/cgroup.controllers")) {
    s.cpuUsageNs = field(v2 + "/cpu.stat", "usage_usec") * 1000;
    s.cpuUserNs = field(v2 + "/cpu.stat", "user_usec") * 1000;
    s.cpuSystemNs = field(v2 + "/cpu.stat", "system_usec") * 1000;
    s.cpuPeriods = field(v2 + "/cpu.stat", "nr_periods");
    s.cpuThrottledPeriods = field(v2 + "/cpu.stat", "nr_throttled");
    s.cpuThrottledNs = field(v2 + "/cpu.stat", "throttled_usec") * 1000;
    s.memoryUsage = number(v2 + "/memory.current");
    uint64_t inactive = field(v2 + "/memory.stat", "inactive_file");
    s.memoryWorkingSet = s.memoryUsage > inactive ? s.memoryUsage - inactive : 0;
    s.memoryRss = field(v2 + "/memory.stat", "anon");
    s.memoryCache = field(v2 + "/memory.stat", "file");
    s.memorySwap = number(v2 + "/memory.swap.current");
    // v2's memory.stat counts the subtree: one figure for both scopes.
    s.pgfault = s.pgfaultHierarchy = field(v2 + "/memory.stat", "pgfault");
    s.pgmajfault = s.pgmajfaultHierarchy = field(v2 + "/memory.stat", "pgmajfault");
    s.oomKills = field(v2 + "/memory.events", "oom_kill");
    s.processes = lines(v2 + "/cgroup.procs");
    s.threads = lines(v2 + "/cgroup.threads");
    s.threadsMax = number(v2 + "/pids.max");
  } else {
    std::string cpuacct = root + "/cpuacct" + path, cpu = root + "/cpu" + path, mem = root + "/memory" + path,
                pids = root + "/pids" + path;
    if (!exists(cpuacct) && !exists(mem)) return fail(Code::NotFound, "no cgroup at " + path);
    s.cpuUsageNs = number(cpuacct + "/cpuacct.usage");
    s.cpuUserNs = number(cpuacct + "/cpuacct.usage_user");
    s.cpuSystemNs = number(cpuacct + "/cpuacct.usage_sys");
    s.cpuPeriods = field(cpu + "/cpu.stat", "nr_periods");
    s.cpuThrottledPeriods = field(cpu + "/cpu.stat", "nr_throttled");
    s.cpuThrottledNs = field(cpu + "/cpu.stat", "throttled_time");
    s.memoryUsage = number(mem + "/memory.usage_in_bytes");
    uint64_t inactive = field(mem + "/memory.stat", "total_inactive_file");
    s.memoryWorkingSet = s.memoryUsage > inactive ? s.memoryUsage - inactive : 0;
    s.memoryRss = field(mem + "/memory.stat", "total_rss");
    s.memoryCache = field(mem + "/memory.stat", "total_cache");
    s.memorySwap = field(mem + "/memory.stat", "total_swap");
    s.memoryFailcnt = number(mem + "/memory.failcnt");
    s.pgfault = field(mem + "/memory.stat", "pgfault");
    s.pgmajfault = field(mem + "/memory.stat", "pgmajfault");
    s.pgfaultHierarchy = field(mem + "/memory.stat", "total_pgfault");
    s.pgmajfaultHierarchy = field(mem + "/memory.stat", "total_pgmajfault");
    s.oomKills = field(mem + "/memory.oom_control", "oom_kill");
    // Processes and threads from the pids hierarchy, else from cpuacct's.
    std::string tasks = exists(pids) ? pids : cpuacct;
    s.processes = lines(tasks + "/cgroup.procs");
    s.threads = lines(tasks + "/tasks");
    s.threadsMax = number(pids + "/pids.max");
  }
  s.oomKilled = s.oomKills > 0;
  return s;
}

void addUsage(Stats& a, const Stats& b) {
  for (auto member :
       {&Stats::cpuUsageNs, &Stats::cpuUserNs, &Stats::cpuSystemNs, &Stats::cpuPeriods, &Stats::cpuThrottledPeriods,
        &Stats::cpuThrottledNs, &Stats::memoryUsage, &Stats::memoryWorkingSet, &Stats::memoryRss, &Stats::memoryCache,
        &Stats::memorySwap, &Stats::memoryFailcnt, &Stats::pgfault, &Stats::pgmajfault, &Stats::pgfaultHierarchy,
        &Stats::pgmajfaultHierarchy, &Stats::oomKills, &Stats::processes, &Stats::threads})
    a.*member += b.*member;
  a.oomKilled = a.oomKilled || b.oomKilled;
}

}  // namespace crix::cgroups
