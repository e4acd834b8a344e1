#include "config/config.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <functional>
#include <sstream>

#include <toml++/toml.h>

#include "common/host_port.h"
#include "sys/fs.h"

namespace crix::config {
namespace {

// Where a node came from, for error messages: "file:line:col".
std::string where(const std::string& origin, const toml::node& node) {
  const auto& src = node.source();
  if (!src.begin) return origin;
  return origin + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

tl::unexpected<Error> bad(const std::string& origin, const toml::node& node, const std::string& key,
                          const std::string& why) {
  return fail(Code::InvalidArgument, where(origin, node) + ": " + key + ": " + why);
}

std::string typeName(const toml::node& node) {
  std::ostringstream os;
  os << node.type();
  return os.str();
}

// Applies one table's keys through a table of per-key handlers, refusing
// unknown keys so that typos do not pass silently.
using KeyHandler = std::function<Result<>(const toml::node&, const std::string& key)>;

Result<> applyTable(const toml::table& table, const std::string& prefix, const std::string& origin,
                    const std::map<std::string, KeyHandler>& handlers) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    auto it = handlers.find(std::string(k.str()));
    if (it == handlers.end()) {
      toml::source_region src = k.source();
      std::string loc =
          src.begin ? origin + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column) : origin;
      return fail(Code::InvalidArgument, loc + ": unknown key " + key);
    }
    TRY(it->second(node, key));
  }
  return {};
}

KeyHandler str(const std::string& origin, std::string& out) {
  return [&origin, &out](const toml::node& n, const std::string& key) -> Result<> {
    auto v = n.value<std::string>();
    if (!n.is_string() || !v) return bad(origin, n, key, "expected a string, got " + typeName(n));
    out = *v;
    return {};
  };
}

KeyHandler absPath(const std::string& origin, std::string& out) {
  return [&origin, &out](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_string()) return bad(origin, n, key, "expected a string, got " + typeName(n));
    std::string v = *n.value<std::string>();
    if (v.empty() || v[0] != '/') return bad(origin, n, key, "\"" + v + "\" is not an absolute path");
    out = v;
    return {};
  };
}

std::string joined(const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return list;
}

bool isOneOf(const std::vector<std::string>& allowed, const std::string& v) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

KeyHandler oneOf(const std::string& origin, std::string& out, std::vector<std::string> allowed) {
  return [&origin, &out, allowed](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_string()) return bad(origin, n, key, "expected a string, got " + typeName(n));
    std::string v = *n.value<std::string>();
    if (!isOneOf(allowed, v)) return bad(origin, n, key, "\"" + v + "\" is not one of " + joined(allowed));
    out = v;
    return {};
  };
}

// An array of strings; with `allowed`, each must be one of them.
KeyHandler strList(const std::string& origin, std::vector<std::string>& out, bool absolute,
                   std::vector<std::string> allowed = {}) {
  return [&origin, &out, absolute, allowed](const toml::node& n, const std::string& key) -> Result<> {
    const toml::array* arr = n.as_array();
    if (!arr) return bad(origin, n, key, "expected an array of strings, got " + typeName(n));
    std::vector<std::string> values;
    for (const auto& item : *arr) {
      if (!item.is_string()) return bad(origin, item, key, "expected a string element, got " + typeName(item));
      std::string v = *item.value<std::string>();
      if (absolute && (v.empty() || v[0] != '/'))
        return bad(origin, item, key, "\"" + v + "\" is not an absolute path");
      if (!allowed.empty() && !isOneOf(allowed, v))
        return bad(origin, item, key, "\"" + v + "\" is not one of " + joined(allowed));
      values.push_back(v);
    }
    out = std::move(values);
    return {};
  };
}

// "host:port" with a real port, or "" (off).
KeyHandler listenAddress(const std::string& origin, std::string& out) {
  return [&origin, &out](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_string()) return bad(origin, n, key, "expected a string such as \"127.0.0.1:9090\", got " + typeName(n));
    std::string v = *n.value<std::string>();
    if (!v.empty()) {
      auto hp = parseHostPort(v);
      if (!hp) return bad(origin, n, key, hp.error().message());
      if (hp->port == 0) return bad(origin, n, key, "bad address \"" + v + "\": the port must not be 0");
    }
    out = v;
    return {};
  };
}

KeyHandler boolean(const std::string& origin, bool& out) {
  return [&origin, &out](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_boolean()) return bad(origin, n, key, "expected true or false, got " + typeName(n));
    out = *n.value<bool>();
    return {};
  };
}

KeyHandler integer(const std::string& origin, int64_t& out, int64_t min, int64_t max) {
  return [&origin, &out, min, max](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_integer()) return bad(origin, n, key, "expected an integer, got " + typeName(n));
    int64_t v = *n.value<int64_t>();
    if (v < min || v > max)
      return bad(origin, n, key, std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    out = v;
    return {};
  };
}

KeyHandler duration(const std::string& origin, std::chrono::milliseconds& out) {
  return [&origin, &out](const toml::node& n, const std::string& key) -> Result<> {
    if (!n.is_string()) return bad(origin, n, key, "expected a duration string such as \"10s\", got " + typeName(n));
    auto d = parseDuration(*n.value<std::string>());
    if (!d) return bad(origin, n, key, d.error().message());
    out = *d;
    return {};
  };
}

KeyHandler table(const std::string& origin, std::function<Result<>(const toml::table&, const std::string&)> fn) {
  return [&origin, fn](const toml::node& n, const std::string& key) -> Result<> {
    const toml::table* t = n.as_table();
    if (!t) return bad(origin, n, key, "expected a table, got " + typeName(n));
    return fn(*t, key);
  };
}

Result<> applyRuntimes(Config& cfg, const toml::table& t, const std::string& origin) {
  for (const auto& [k, node] : t) {
    std::string name(k.str());
    std::string key = "runtimes." + name;
    const toml::table* rt = node.as_table();
    if (!rt) return bad(origin, node, key, "expected a table, got " + typeName(node));
    if (name.empty()) return bad(origin, node, key, "a runtime handler needs a name");
    // A drop-in may change one field of an existing handler.
    RuntimeHandler h = cfg.runtimes.count(name) ? cfg.runtimes[name] : RuntimeHandler{.path = name};
    TRY(applyTable(*rt, key, origin,
                   {{"path", str(origin, h.path)},
                    {"root", absPath(origin, h.root)},
                    {"type", oneOf(origin, h.type, {"oci", "gvisor"})},
                    {"runtime_args", strList(origin, h.runtimeArgs, false)},
                    {"allowed_annotations", strList(origin, h.allowedAnnotations, false)},
                    {"privileged_without_host_devices", boolean(origin, h.privilegedWithoutHostDevices)},
                    {"monitor_path", str(origin, h.monitorPath)},
                    {"base_spec", absPath(origin, h.baseSpec)}}));
    if (h.path.empty()) return bad(origin, node, key + ".path", "must not be empty");
    // runsc is gVisor's runtime whatever the table is called.
    if (!rt->contains("type") && std::filesystem::path(h.path).filename() == "runsc") h.type = "gvisor";
    for (const auto& a : h.allowedAnnotations) {
      auto star = a.find('*');
      bool ok =
          !a.empty() && (star == std::string::npos || (star == a.size() - 1 && a.size() > 2 && a.ends_with(".*")));
      if (!ok)
        return bad(origin, *rt->get("allowed_annotations"), key + ".allowed_annotations",
                   "\"" + a + "\" is neither a key nor a prefix such as \"dev.gvisor.*\"");
    }
    cfg.runtimes[name] = h;
  }
  return {};
}

Result<> applyRegistries(Config& cfg, const toml::table& t, const std::string& origin) {
  for (const auto& [k, node] : t) {
    std::string host(k.str());
    std::string key = "registries.\"" + host + "\"";
    const toml::table* rt = node.as_table();
    if (!rt) return bad(origin, node, key, "expected a table, got " + typeName(node));
    Registry r = cfg.registries.count(host) ? cfg.registries[host] : Registry{};
    TRY(applyTable(*rt, key, origin,
                   {{"insecure", boolean(origin, r.insecure)},
                    {"mirrors", strList(origin, r.mirrors, false)},
                    {"ca_dir", absPath(origin, r.caDir)}}));
    cfg.registries[host] = r;
  }
  return {};
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return fail(Code::InvalidArgument, "empty duration");
  std::chrono::milliseconds total{0};
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i)
      return fail(Code::InvalidArgument, "bad duration \"" + std::string(text) + "\": want e.g. 10s, 500ms, 1m");
    // The digits and dots scanned must be one number: "1.5" but not "1.2.3" or ".".
    double n = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, n);
    if (ec == std::errc::result_out_of_range)
      return fail(Code::InvalidArgument, "bad duration \"" + std::string(text) + "\": out of range");
    if (ec != std::errc() || end != text.data() + i)
      return fail(Code::InvalidArgument, "bad duration \"" + std::string(text) + "\": \"" +
                                             std::string(text.substr(start, i - start)) + "\" is not a number");
    size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    double ms = 0;
    if (unit == "ms")
      ms = n;
    else if (unit == "s")
      ms = n * 1000;
    else if (unit == "m")
      ms = n * 60000;
    else if (unit == "h")
      ms = n * 3600000;
    else
      return fail(Code::InvalidArgument, "bad duration \"" + std::string(text) + "\": unit must be ms, s, m or h");
    // Far beyond any timeout, and well inside what milliseconds can count.
    constexpr double kLongestMs = 1e18;
    if (ms + static_cast<double>(total.count()) >= kLongestMs)
      return fail(Code::InvalidArgument, "bad duration \"" + std::string(text) + "\": too long");
    total += std::chrono::milliseconds(static_cast<long long>(ms));
  }
  return total;
}

std::string formatDuration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<> applyToml(Config& cfg, std::string_view text, const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return fail(Code::InvalidArgument, origin + ":" + std::to_string(src.begin.line) + ":" +
                                           std::to_string(src.begin.column) + ": " + std::string(e.description()));
  }
  // Work on a copy so that a file with an error changes nothing.
  Config next = cfg;
  TRY(applyTable(
      doc, "", origin,
      {{"listen", absPath(origin, next.listen)},
       {"root", absPath(origin, next.root)},
       {"state_dir", absPath(origin, next.stateDir)},
       {"log_level", oneOf(origin, next.logLevel, {"debug", "info", "warn", "error"})},
       {"shutdown_timeout", duration(origin, next.shutdownTimeout)},
       {"runtime", table(origin,
                         [&](const toml::table& t, const std::string& key) {
                           return applyTable(
                               t, key, origin,
                               {{"cgroup_driver", oneOf(origin, next.cgroupDriver, {"cgroupfs", "systemd"})},
                                {"conmon", str(origin, next.conmon)},
                                {"default_runtime", str(origin, next.defaultRuntime)},
                                {"log_size_max", integer(origin, next.logSizeMax, -1, int64_t{1} << 40)},
                                {"tolerate_missing_hugetlb_controller", boolean(origin, next.tolerateMissingHugetlb)},
                                {"enable_unprivileged_ports", boolean(origin, next.unprivilegedPorts)},
                                {"enable_unprivileged_icmp", boolean(origin, next.unprivilegedIcmp)},
                                {"pod_stop_grace_period", duration(origin, next.podStopGracePeriod)},
                                {"kubelet_pods_dir", absPath(origin, next.kubeletPodsDir)},
                                {"cdi_spec_dirs", strList(origin, next.cdiSpecDirs, true)}});
                         })},
       {"runtimes",
        table(origin, [&](const toml::table& t, const std::string&) { return applyRuntimes(next, t, origin); })},
       {"network", table(origin,
                         [&](const toml::table& t, const std::string& key) {
                           return applyTable(t, key, origin,
                                             {{"cni_config_dir", absPath(origin, next.cniConfigDir)},
                                              {"cni_plugin_dirs", strList(origin, next.cniPluginDirs, true)},
                                              {"conf_template", absPath(origin, next.cniConfTemplate)}});
                         })},
       {"image", table(origin,
                       [&](const toml::table& t, const std::string& key) {
                         return applyTable(
                             t, key, origin,
                             {{"pause_image", str(origin, next.pauseImage)},
                              {"pause_command", str(origin, next.pauseCommand)},
                              {"pinned_images", strList(origin, next.pinnedImages, false)},
                              {"unqualified_search_registries", strList(origin, next.searchRegistries, false)},
                              {"max_concurrent_downloads", integer(origin, next.maxConcurrentDownloads, 1, 64)},
                              {"max_layer_size", integer(origin, next.maxLayerSize, 1 << 20, int64_t{1} << 50)},
                              {"allow_device_nodes", boolean(origin, next.allowDeviceNodes)},
                              {"volumes", oneOf(origin, next.imageVolumes, {"mkdir", "ignore"})}});
                       })},
       {"streaming", table(origin,
                           [&](const toml::table& t, const std::string& key) {
                             return applyTable(
                                 t, key, origin,
                                 {{"address", str(origin, next.streamingAddress)},
                                  {"idle_timeout", duration(origin, next.streamingIdleTimeout)},
                                  {"max_sessions", integer(origin, next.streamingMaxSessions, 1, 65536)}});
                           })},
       {"registries",
        table(origin, [&](const toml::table& t, const std::string&) { return applyRegistries(next, t, origin); })},
       {"metrics", table(origin, [&](const toml::table& t, const std::string& key) {
          return applyTable(
              t, key, origin,
              {{"address", listenAddress(origin, next.metricsAddress)},
               {"included_pod_metrics", strList(origin, next.includedPodMetrics, false, kPodMetricGroups)}});
        })}}));
  cfg = std::move(next);
  return {};
}

Result<> applyFile(Config& cfg, const std::string& path, bool required) {
  auto text = sys::readFile(path);
  if (!text) {
    if (!required && text.error().errnum() == ENOENT) return {};
    return fail(text.error().wrap("config"));
  }
  return applyToml(cfg, *text, path);
}

Result<> applyDropIns(Config& cfg, const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return {};
    return failErrno("config drop-in directory " + dir, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.ends_with(".toml") && name[0] != '.') names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) TRY(applyFile(cfg, dir + "/" + name, true));
  return {};
}

Result<> validate(const Config& cfg) {
  auto absolute = [](const std::string& p) { return !p.empty() && p[0] == '/'; };
  for (auto [key, value] : {std::pair{"listen", &cfg.listen},
                            {"root", &cfg.root},
                            {"state_dir", &cfg.stateDir},
                            {"network.cni_config_dir", &cfg.cniConfigDir}}) {
    if (!absolute(*value))
      return fail(Code::InvalidArgument, std::string(key) + ": \"" + *value + "\" is not an absolute path");
  }
  if (cfg.cgroupDriver != "cgroupfs" && cfg.cgroupDriver != "systemd")
    return fail(Code::InvalidArgument,
                "runtime.cgroup_driver: \"" + cfg.cgroupDriver + "\" is not one of cgroupfs, systemd");
  if (!cfg.runtimes.count(cfg.defaultRuntime)) {
    std::string known;
    for (const auto& [name, h] : cfg.runtimes) known += (known.empty() ? "" : ", ") + name;
    return fail(Code::InvalidArgument, "runtime.default_runtime: \"" + cfg.defaultRuntime +
                                           "\" is not a configured runtime handler (known: " + known + ")");
  }
  if (cfg.shutdownTimeout.count() < 0) return fail(Code::InvalidArgument, "shutdown_timeout: must not be negative");
  if (cfg.podStopGracePeriod.count() < 0)
    return fail(Code::InvalidArgument, "runtime.pod_stop_grace_period: must not be negative");
  return {};
}

namespace {

toml::table toTable(const Config& cfg) {
  toml::table runtimes;
  auto list = [](const std::vector<std::string>& v) {
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    return a;
  };
  for (const auto& [name, h] : cfg.runtimes) {
    toml::table t{{"path", h.path},
                  {"root", cfg.runtimeRoot(name)},
                  {"type", h.type},
                  {"runtime_args", list(h.runtimeArgs)},
                  {"allowed_annotations", list(h.allowedAnnotations)},
                  {"privileged_without_host_devices", h.privilegedWithoutHostDevices}};
    if (!h.monitorPath.empty()) t.insert("monitor_path", h.monitorPath);
    if (!h.baseSpec.empty()) t.insert("base_spec", h.baseSpec);
    runtimes.insert(name, t);
  }
  toml::table network{{"cni_config_dir", cfg.cniConfigDir}, {"cni_plugin_dirs", list(cfg.cniPluginDirs)}};
  if (!cfg.cniConfTemplate.empty()) network.insert("conf_template", cfg.cniConfTemplate);
  toml::table registries;
  for (const auto& [host, r] : cfg.registries) {
    toml::table t{{"insecure", r.insecure}, {"mirrors", list(r.mirrors)}};
    if (!r.caDir.empty()) t.insert("ca_dir", r.caDir);
    registries.insert(host, t);
  }
  return toml::table{
      {"listen", cfg.listen},
      {"root", cfg.root},
      {"state_dir", cfg.stateDir},
      {"log_level", cfg.logLevel},
      {"shutdown_timeout", formatDuration(cfg.shutdownTimeout)},
      {"runtime", toml::table{{"cgroup_driver", cfg.cgroupDriver},
                              {"conmon", cfg.conmon},
                              {"default_runtime", cfg.defaultRuntime},
                              {"log_size_max", cfg.logSizeMax},
                              {"tolerate_missing_hugetlb_controller", cfg.tolerateMissingHugetlb},
                              {"enable_unprivileged_ports", cfg.unprivilegedPorts},
                              {"enable_unprivileged_icmp", cfg.unprivilegedIcmp},
                              {"pod_stop_grace_period", formatDuration(cfg.podStopGracePeriod)},
                              {"kubelet_pods_dir", cfg.kubeletPodsDir},
                              {"cdi_spec_dirs", list(cfg.cdiSpecDirs)}}},
      {"runtimes", runtimes},
      {"network", network},
      {"image", toml::table{{"pause_image", cfg.pauseImage},
                            {"pause_command", cfg.pauseCommand},
                            {"pinned_images", list(cfg.pinnedImages)},
                            {"unqualified_search_registries", list(cfg.searchRegistries)},
                            {"max_concurrent_downloads", cfg.maxConcurrentDownloads},
                            {"max_layer_size", cfg.maxLayerSize},
                            {"allow_device_nodes", cfg.allowDeviceNodes},
                            {"volumes", cfg.imageVolumes}}},
      {"streaming", toml::table{{"address", cfg.streamingAddress},
                                {"idle_timeout", formatDuration(cfg.streamingIdleTimeout)},
                                {"max_sessions", cfg.streamingMaxSessions}}},
      {"registries", registries},
      {"metrics", toml::table{{"address", cfg.metricsAddress}, {"included_pod_metrics", list(cfg.includedPodMetrics)}}},
  };
}

}  // namespace

std::string toToml(const Config& cfg) {
  std::ostringstream os;
  os << toTable(cfg) << "\n";
  return os.str();
}

std::string toJson(const Config& cfg) {
  std::ostringstream os;
  os << toml::json_formatter(toTable(cfg));
  return os.str();
}

}  // namespace crix::config
