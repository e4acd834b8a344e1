#include "lifecycle/enforceable.h"

#include <set>
#include <type_traits>

namespace crix::lifecycle {
namespace {

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<std::vector<std::string>> dropUnenforceable(spec::Resources& r, const cgroups::Controllers& host,
                                                   bool tolerateMissingHugetlb) {
  std::vector<std::string> dropped;
  auto drop = [&](auto& field, const std::string& what, const std::string& why) {
    if (field == std::remove_reference_t<decltype(field)>{}) return;
    field = {};
    dropped.push_back(what + ": " + why);
  };
  if (!host.has("cpu")) {
    drop(r.cpuShares, "cpu shares", "no cpu controller");
    drop(r.cpuQuota, "cpu quota", "no cpu controller");
    drop(r.cpuPeriod, "cpu period", "no cpu controller");
  }
  if (!host.has("cpuset")) {
    drop(r.cpusetCpus, "cpuset cpus", "no cpuset controller");
    drop(r.cpusetMems, "cpuset mems", "no cpuset controller");
  }
  if (!host.has("memory")) {
    drop(r.memoryLimit, "memory limit", "no memory controller");
    drop(r.memorySwap, "memory+swap limit", "no memory controller");
  } else if (!host.swap) {
    drop(r.memorySwap, "memory+swap limit", "swap accounting is off");
  }
  if (!host.has("pids")) drop(r.pidsLimit, "pids limit", "no pids controller");

  if (!r.hugepageLimits.empty() && !host.has("hugetlb")) {
    if (!tolerateMissingHugetlb)
      return fail(Code::FailedPrecondition,
                  "huge page limits need the hugetlb controller, which the OCI runtime cannot use on this host (" +
                      std::string(cgroups::hostModeName(host.mode)) +
                      "); [runtime] tolerate_missing_hugetlb_controller leaves them out instead");
    for (const auto& [size, _] : r.hugepageLimits)
      dropped.push_back("hugepage limit " + size + ": no hugetlb controller");
    r.hugepageLimits.clear();
  }
  for (const auto& [size, _] : r.hugepageLimits)
    if (!host.hugepageSizes.count(size))
      return fail(Code::InvalidArgument,
                  "huge page size \"" + size + "\" is not one this host has (" + joined(host.hugepageSizes) + ")");

  for (auto it = r.unified.begin(); it != r.unified.end();) {
    const std::string& key = it->first;
    std::string controller = key.substr(0, key.find('.'));
    std::string why;
    if (host.mode != cgroups::HostMode::Unified)
      why = "the runtime manages cgroup v1 here";
    else if (controller != "cgroup" && !host.has(controller))
      why = "the v2 hierarchy does not enable " + controller;
    else if (key.starts_with("memory.swap.") && !host.swap)
      why = "swap accounting is off";
    if (why.empty()) {
      ++it;
      continue;
    }
    dropped.push_back("unified " + key + ": " + why);
    it = r.unified.erase(it);
  }
  return dropped;
}

}  // namespace crix::lifecycle
