#include "spec/container_spec.h"

#include <algorithm>
#include <type_traits>

#include "spec/sandbox_spec.h"

namespace crix::spec {

using nlohmann::json;

const std::vector<std::string>& defaultCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

std::vector<std::string> adjustCapabilities(std::vector<std::string> base, const std::vector<std::string>& add,
                                            const std::vector<std::string>& drop, const std::vector<std::string>& all) {
  auto full = [](std::string c) {
    std::transform(c.begin(), c.end(), c.begin(), ::toupper);
    return c.starts_with("CAP_") ? c : "CAP_" + c;
  };
  for (const auto& d : drop) {
    if (full(d) == "CAP_ALL") {
      base.clear();
      continue;
    }
    base.erase(std::remove(base.begin(), base.end(), full(d)), base.end());
  }
  for (const auto& a : add) {
    if (full(a) == "CAP_ALL") {
      base = all;
      continue;
    }
    if (std::find(base.begin(), base.end(), full(a)) == base.end()) base.push_back(full(a));
  }
  return base;
}

std::vector<std::string> processArgs(const std::vector<std::string>& command, const std::vector<std::string>& args,
                                     const std::vector<std::string>& entrypoint, const std::vector<std::string>& cmd) {
  std::vector<std::string> out;
  if (!command.empty()) {
    out = command;
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
  out = entrypoint;
  const auto& rest = args.empty() ? cmd : args;
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<std::string> mergeEnv(const std::vector<std::string>& base, const std::vector<std::string>& over) {
  std::vector<std::string> out = base;
  for (const auto& e : over) {
    std::string key = e.substr(0, e.find('='));
    auto it =
        std::find_if(out.begin(), out.end(), [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    if (it != out.end())
      *it = e;
    else
      out.push_back(e);
  }
  return out;
}

json resourcesJson(const Resources& r) {
  json resources = json::object(), cpu = json::object(), memory = json::object();
  if (r.cpuShares > 0) cpu["shares"] = r.cpuShares;
  if (r.cpuQuota > 0) cpu["quota"] = r.cpuQuota;
  if (r.cpuPeriod > 0) cpu["period"] = r.cpuPeriod;
  if (!r.cpusetCpus.empty()) cpu["cpus"] = r.cpusetCpus;
  if (!r.cpusetMems.empty()) cpu["mems"] = r.cpusetMems;
  if (r.memoryLimit > 0) memory["limit"] = r.memoryLimit;
  if (r.memorySwap > 0) memory["swap"] = r.memorySwap;
  if (!cpu.empty()) resources["cpu"] = cpu;
  if (!memory.empty()) resources["memory"] = memory;
  if (r.pidsLimit > 0) resources["pids"] = {{"limit", r.pidsLimit}};
  for (const auto& [size, limit] : r.hugepageLimits)
    resources["hugepageLimits"].push_back({{"pageSize", size}, {"limit", limit}});
  if (!r.unified.empty()) resources["unified"] = r.unified;
  return resources;
}

json resourcesToRecord(const Resources& r) {
  return {{"cpuShares", r.cpuShares},     {"cpuQuota", r.cpuQuota},     {"cpuPeriod", r.cpuPeriod},
          {"memoryLimit", r.memoryLimit}, {"pidsLimit", r.pidsLimit},   {"cpusetCpus", r.cpusetCpus},
          {"cpusetMems", r.cpusetMems},   {"memorySwap", r.memorySwap}, {"hugepageLimits", r.hugepageLimits},
          {"unified", r.unified}};
}

Resources resourcesFromRecord(const json& j) {
  Resources r;
  r.cpuShares = j.value("cpuShares", int64_t{0});
  r.cpuQuota = j.value("cpuQuota", int64_t{0});
  r.cpuPeriod = j.value("cpuPeriod", int64_t{0});
  r.memoryLimit = j.value("memoryLimit", int64_t{0});
  r.pidsLimit = j.value("pidsLimit", int64_t{0});
  r.cpusetCpus = j.value("cpusetCpus", "");
  r.cpusetMems = j.value("cpusetMems", "");
  r.memorySwap = j.value("memorySwap", int64_t{0});
  r.hugepageLimits = j.value("hugepageLimits", std::map<std::string, uint64_t>{});
  r.unified = j.value("unified", std::map<std::string, std::string>{});
  return r;
}

Resources mergeResources(Resources now, const Resources& update) {
  auto over = [](auto& field, const auto& value) {
    if (value != std::remove_cvref_t<decltype(value)>{}) field = value;
  };
  over(now.cpuShares, update.cpuShares);
  over(now.cpuQuota, update.cpuQuota);
  over(now.cpuPeriod, update.cpuPeriod);
  over(now.memoryLimit, update.memoryLimit);
  over(now.pidsLimit, update.pidsLimit);
  over(now.cpusetCpus, update.cpusetCpus);
  over(now.cpusetMems, update.cpusetMems);
  over(now.memorySwap, update.memorySwap);
  for (const auto& [size, limit] : update.hugepageLimits) now.hugepageLimits[size] = limit;
  for (const auto& [key, value] : update.unified) now.unified[key] = value;
  return now;
}

json buildContainerSpec(const ContainerSpecInput& in) {
  json mounts = kernelMounts(in.privileged, true);
  for (const auto& m : in.mounts) {
    json opts = {"rbind", m.propagation, m.readonly ? "ro" : "rw"};
    if (m.recursiveReadOnly) opts.push_back("rro");
    for (const auto& o : m.options) opts.push_back(o);
    mounts.push_back({{"destination", m.containerPath}, {"type", "bind"}, {"source", m.hostPath}, {"options", opts}});
  }
  json namespaces = json::array({{{"type", "mount"}}});
  auto ns = [&](const char* type, bool host, const std::string& path) {
    if (host) return;
    json n{{"type", type}};
    if (!path.empty()) n["path"] = path;
    namespaces.push_back(n);
  };
  ns("uts", in.hostNetwork, in.utsnsPath);
  ns("network", in.hostNetwork, in.netnsPath);
  ns("pid", in.hostPid, in.pidnsPath);
  ns("ipc", in.hostIpc, in.ipcnsPath);

  json caps = in.capabilities;
  json resources = resourcesJson(in.resources);
  bool allDevices = in.privileged && !in.withoutHostDevices;
  resources["devices"] = json::array({{{"allow", allDevices}, {"access", "rwm"}}});
  json devices = json::array();
  for (const auto& d : in.devices) {
    devices.push_back({{"path", d.path},
                       {"type", std::string(1, d.type)},
                       {"major", d.major},
                       {"minor", d.minor},
                       {"fileMode", d.fileMode},
                       {"uid", d.uid},
                       {"gid", d.gid}});
    resources["devices"].push_back({{"allow", true},
                                    {"type", std::string(1, d.type)},
                                    {"major", d.major},
                                    {"minor", d.minor},
                                    {"access", d.access}});
  }

  json linux{
      {"namespaces", namespaces}, {"cgroupsPath", in.cgroupsPath}, {"sysctl", in.sysctls}, {"resources", resources}};
  if (!devices.empty()) linux["devices"] = devices;
  // A bidirectional mount only propagates if the container's root does.
  bool shared =
      std::any_of(in.mounts.begin(), in.mounts.end(), [](const Mount& m) { return m.propagation == "rshared"; });
  bool slave =
      std::any_of(in.mounts.begin(), in.mounts.end(), [](const Mount& m) { return m.propagation == "rslave"; });
  if (shared)
    linux["rootfsPropagation"] = "rshared";
  else if (slave)
    linux["rootfsPropagation"] = "rslave";
  if (in.seccomp) linux["seccomp"] = *in.seccomp;
  if (!in.privileged) {
    linux["maskedPaths"] = in.maskedPaths.empty() ? defaultMaskedPaths() : in.maskedPaths;
    linux["readonlyPaths"] = in.readonlyPaths.empty() ? defaultReadonlyPaths() : in.readonlyPaths;
  }
  json spec{{"ociVersion", "1.0.2"},
            {"process",
             {{"terminal", in.terminal},
              {"user", {{"uid", in.uid}, {"gid", in.gid}, {"additionalGids", in.additionalGids}}},
              {"args", in.args},
              {"env", in.env},
              {"cwd", in.cwd.empty() ? "/" : in.cwd},
              {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
              {"noNewPrivileges", in.noNewPrivileges},
              {"oomScoreAdj", in.oomScoreAdj}}},
            {"root", {{"path", in.rootfs}, {"readonly", in.readonlyRootfs}}},
            {"hostname", in.hostname},
            {"mounts", mounts},
            {"annotations", in.annotations},
            {"linux", linux}};
  if (in.hostname.empty() || in.hostNetwork) spec.erase("hostname");
  for (const auto& h : in.hooks) {
    json hook{{"path", h.path}};
    if (!h.args.empty()) hook["args"] = h.args;
    if (!h.env.empty()) hook["env"] = h.env;
    if (h.timeout > 0) hook["timeout"] = h.timeout;
    spec["hooks"][h.stage].push_back(hook);
  }
  addUserNamespace(in.userns, spec);
  return spec;
}

}  // namespace crix::spec
