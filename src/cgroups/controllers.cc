#include "cgroups/controllers.h"

#include <charconv>
#include <filesystem>
#include <sstream>
#include <vector>

#include "sys/fs.h"

namespace crix::cgroups {
namespace {

namespace fs = std::filesystem;

// The v1 controllers a runtime may set limits or join in; mount options
// such as "rw" or "name=systemd" are not controllers.
const std::set<std::string>& v1Controllers() {
  static const std::set<std::string> names = {"blkio",    "cpu",        "cpuacct", "cpuset", "devices",
                                              "freezer",  "hugetlb",    "memory",  "misc",   "net_cls",
                                              "net_prio", "perf_event", "pids",    "rdma"};
  return names;
}

struct Mount {
  std::string point, fstype;
  std::vector<std::string> superOptions;
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 4, v, 8);
      if (ec == std::errc() && p == s.data() + i + 4) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<Mount> cgroupMounts(std::string_view mountinfo) {
  std::vector<Mount> out;
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    auto fields = split(line, ' ');
    // id parent dev root point options [optional...] - fstype source super
    size_t dash = 0;
    for (size_t i = 6; i < fields.size(); ++i)
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || fields.size() < dash + 4) continue;
    const auto& fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    out.push_back({unescape(fields[4]), fstype, split(fields[dash + 3], ',')});
  }
  return out;
}

bool under(const std::string& path, const std::string& root) {
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

// Swap accounting on v2 shows as memory.swap.max in non-root cgroups.
bool v2HasSwap(const std::string& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::error_code dirEc;
    if (!e.is_directory(dirEc)) continue;
    if (fs::exists(e.path() / "memory.current", dirEc)) return fs::exists(e.path() / "memory.swap.max", dirEc);
  }
  return false;
}

}  // namespace

std::string hugepageSizeName(std::string_view dirName) {
  constexpr std::string_view prefix = "hugepages-", suffix = "kB";
  if (!dirName.starts_with(prefix) || !dirName.ends_with(suffix)) return "";
  auto digits = dirName.substr(prefix.size(), dirName.size() - prefix.size() - suffix.size());
  uint64_t kb = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), kb);
  if (ec != std::errc() || p != digits.data() + digits.size() || kb == 0) return "";
  if (kb % (1024 * 1024) == 0) return std::to_string(kb / (1024 * 1024)) + "GB";
  if (kb % 1024 == 0) return std::to_string(kb / 1024) + "MB";
  return std::to_string(kb) + "KB";
}

Controllers probeControllers(std::string_view mountinfo, const std::string& cgroupRoot,
                             const std::string& hugepagesDir) {
  Controllers c;
  auto mounts = cgroupMounts(mountinfo);
  bool v1 = false, v2Below = false;
  for (const auto& m : mounts) {
    if (m.fstype == "cgroup2" && m.point == cgroupRoot) {
      c.mode = HostMode::Unified;
      auto text = sys::readFile(cgroupRoot + "/cgroup.controllers");
      for (const auto& name : split(text ? *text : "", ' ')) {
        std::string n = name;
        while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
        if (!n.empty()) c.names.insert(n);
      }
      c.swap = c.has("memory") && v2HasSwap(cgroupRoot);
      break;
    }
    if (!under(m.point, cgroupRoot)) continue;
    if (m.fstype == "cgroup2") {
      v2Below = true;
      continue;
    }
    for (const auto& opt : m.superOptions) {
      if (!v1Controllers().count(opt)) continue;
      v1 = true;
      c.names.insert(opt);
      if (opt == "memory") c.swap = fs::exists(m.point + "/memory.memsw.limit_in_bytes");
    }
  }
  if (c.mode != HostMode::Unified && v1) c.mode = v2Below ? HostMode::Hybrid : HostMode::Legacy;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(hugepagesDir, ec))
    if (auto size = hugepageSizeName(e.path().filename().string()); !size.empty()) c.hugepageSizes.insert(size);
  return c;
}

Controllers probeHostControllers() {
  auto mountinfo = sys::readFile("/proc/self/mountinfo");
  return probeControllers(mountinfo ? *mountinfo : "", "/sys/fs/cgroup", "/sys/kernel/mm/hugepages");
}

}  // namespace crix::cgroups
