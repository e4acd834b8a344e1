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

}  // namespace

Result<Stats> readStats(const std::string& cgroupsPath, const std::string& root) {
  std::string path = TRY(cgroupDirectory(cgroupsPath));
  Stats s;
  std::string v2 = root + path;
  if (exists(v2 + "/cgroup.controllers")) {
    s.cpuUsageNs = field(v2 + "/cpu.stat", "usage_usec") * 1000;
    s.memoryUsage = number(v2 + "/memory.current");
    uint64_t inactive = field(v2 + "/memory.stat", "inactive_file");
    s.memoryWorkingSet = s.memoryUsage > inactive ? s.memoryUsage - inactive : 0;
    s.memoryRss = field(v2 + "/memory.stat", "anon");
    s.oomKilled = field(v2 + "/memory.events", "oom_kill") > 0;
    return s;
  }
  std::string cpu = root + "/cpuacct" + path, mem = root + "/memory" + path;
  if (!exists(cpu) && !exists(mem)) return fail(Code::NotFound, "no cgroup at " + path);
  s.cpuUsageNs = number(cpu + "/cpuacct.usage");
  s.memoryUsage = number(mem + "/memory.usage_in_bytes");
  uint64_t inactive = field(mem + "/memory.stat", "total_inactive_file");
  s.memoryWorkingSet = s.memoryUsage > inactive ? s.memoryUsage - inactive : 0;
  s.memoryRss = field(mem + "/memory.stat", "total_rss");
  s.oomKilled = field(mem + "/memory.oom_control", "oom_kill") > 0;
  return s;
}

}  // namespace crix::cgroups
