#include "network/cni.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "network/cni_config.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::network {
namespace {

using nlohmann::json;

json runtimeConfig(const json& plugin, const json& caps) {
  json rc = json::object();
  if (!plugin.contains("capabilities") || !plugin["capabilities"].is_object()) return rc;
  for (const auto& [name, on] : plugin["capabilities"].items())
    if (on == true && caps.contains(name)) rc[name] = caps[name];
  return rc;
}

json capabilityArgs(const Attachment& a) {
  json caps = json::object();
  if (!a.portMappings.empty()) {
    json pm = json::array();
    for (const auto& p : a.portMappings) {
      if (p.hostPort <= 0) continue;  // a container port alone maps nothing on the host
      json m{{"hostPort", p.hostPort}, {"containerPort", p.containerPort}, {"protocol", p.protocol}};
      if (!p.hostIp.empty()) m["hostIP"] = p.hostIp;
      pm.push_back(m);
    }
    if (!pm.empty()) caps["portMappings"] = pm;
  }
  if (!a.dnsServers.empty() || !a.dnsSearches.empty() || !a.dnsOptions.empty())
    caps["dns"] = {{"servers", a.dnsServers}, {"searches", a.dnsSearches}, {"options", a.dnsOptions}};
  if (a.ingressRate > 0 || a.egressRate > 0) {
    json bw = json::object();
    if (a.ingressRate > 0) bw["ingressRate"] = a.ingressRate, bw["ingressBurst"] = a.ingressRate;
    if (a.egressRate > 0) bw["egressRate"] = a.egressRate, bw["egressBurst"] = a.egressRate;
    caps["bandwidth"] = bw;
  }
  return caps;
}

std::string cniArgs(const std::map<std::string, std::string>& args) {
  std::string out = "IgnoreUnknown=1";
  for (const auto& [k, v] : args) out += ";" + k + "=" + v;
  return out;
}

// The latest CNI spec that crix implements.
constexpr const char* kMaxVersion = "1.1.0";

// The version a list is run with: the highest of "cniVersion" and
// "cniVersions" that crix speaks; else "cniVersion" as written, for the
// plugin to refuse.
std::string listVersion(const json& list) {
  std::string declared =
      list.contains("cniVersion") && list["cniVersion"].is_string() ? list["cniVersion"].get<std::string>() : "1.0.0";
  std::vector<std::string> candidates = {declared};
  if (list.contains("cniVersions") && list["cniVersions"].is_array())
    for (const auto& v : list["cniVersions"])
      if (v.is_string()) candidates.push_back(v.get<std::string>());
  std::string best;
  for (const auto& v : candidates)
    if (cniVersionAtLeast(kMaxVersion, v) && (best.empty() || cniVersionAtLeast(v, best))) best = v;
  return best.empty() ? declared : best;
}

bool checkDisabled(const json& list) {
  if (!list.contains("disableCheck")) return false;
  const auto& v = list["disableCheck"];
  return v == true || v == "true";
}

// A .conf file (one plugin) as the list of one that it stands for.
json asList(json conf) {
  if (conf.contains("plugins")) return conf;
  json list{{"name", conf["name"]}, {"plugins", json::array({conf})}};
  if (conf.contains("cniVersion")) list["cniVersion"] = conf["cniVersion"];
  return list;
}

Result<std::string> findPlugin(const std::vector<std::string>& pluginDirs, const std::string& type) {
  for (const auto& d : pluginDirs)
    if (::access((d + "/" + type).c_str(), X_OK) == 0) return d + "/" + type;
  std::string dirs;
  for (const auto& d : pluginDirs) dirs += (dirs.empty() ? "" : ", ") + d;
  return fail(Code::FailedPrecondition,
              "CNI plugin \"" + type + "\" not found in the plugin directories (" + dirs + ")");
}

// What a plugin reads on stdin: its configuration with the list's name and
// version; for operations on an attachment also the runtime config of its
// capabilities and the previous result.
json requestConfig(const json& list, const json& plugin, const json* capabilityArgs, const json& prevResult) {
  json conf = plugin;
  conf["cniVersion"] = listVersion(list);
  conf["name"] = list.value("name", "");
  if (capabilityArgs) {
    json rc = runtimeConfig(plugin, *capabilityArgs);
    if (!rc.empty()) conf["runtimeConfig"] = rc;
  }
  if (!prevResult.is_null()) conf["prevResult"] = prevResult;
  return conf;
}

// Runs one plugin with `command`, the request on stdin and `env` (the CNI_*
// variables of the attachment, if any); returns its stdout (the result) or
// the plugin's error.
Result<std::string> runPlugin(const std::vector<std::string>& pluginDirs, const std::string& command,
                              const json& request, std::vector<std::string> env, std::chrono::milliseconds timeout) {
  std::string type = request.value("type", "");
  std::string bin = TRY(findPlugin(pluginDirs, type));
  std::string path;
  for (const auto& d : pluginDirs) path += (path.empty() ? "" : ":") + d;
  env.insert(env.begin(), "CNI_COMMAND=" + command);
  env.push_back("CNI_PATH=" + path);
  env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  auto ran = TRY(sys::runCommand({bin}, {.timeout = timeout, .stdinData = request.dump(), .env = env}));
  if (ran.exitCode != 0) {
    auto err = json::parse(ran.out, nullptr, false);
    std::string msg = err.is_object() && err.contains("msg")
                          ? err.value("msg", "") + (err.contains("details") ? ": " + err.value("details", "") : "")
                          : ran.out + ran.err;
    return fail(Code::Internal,
                "CNI " + command + " " + type + " failed (exit " + std::to_string(ran.exitCode) + "): " + msg);
  }
  return ran.out;
}

// Runs one plugin on the cached attachment (ADD, DEL, CHECK).
Result<std::string> invoke(const std::vector<std::string>& pluginDirs, const std::string& command, const json& cached,
                           const json& plugin, const json& prevResult) {
  json request = requestConfig(cached["config"], plugin, &cached["capabilityArgs"], prevResult);
  std::vector<std::string> env = {
      "CNI_CONTAINERID=" + cached["containerId"].get<std::string>(), "CNI_NETNS=" + cached["netns"].get<std::string>(),
      "CNI_IFNAME=" + cached["ifName"].get<std::string>(), "CNI_ARGS=" + cached["args"].get<std::string>()};
  return runPlugin(pluginDirs, command, request, std::move(env), std::chrono::seconds(60));
}

// The attachment cached by ADD; NotFound when there is none.
Result<json> readCache(const Paths& paths, const std::string& containerId) {
  auto text = sys::readFile(paths.cniAttachment(containerId));
  if (!text) {
    if (text.error().errnum() == ENOENT)
      return fail(Code::NotFound, "no CNI attachment for " + containerId + " (never added, or deleted)");
    return fail(text.error().wrap("CNI cache of " + containerId));
  }
  json cached = json::parse(*text, nullptr, false);
  if (!cached.is_object() || !cached.contains("config") || !cached["config"].contains("plugins"))
    return fail(Code::Internal, "corrupt CNI cache for " + containerId);
  return cached;
}

}  // namespace

Result<std::vector<std::string>> podIps(const std::string& resultJson) {
  auto r = json::parse(resultJson, nullptr, false);
  if (!r.is_object()) return fail(Code::Internal, "CNI result is not a JSON object");
  std::vector<int> sandboxIfaces;
  if (r.contains("interfaces") && r["interfaces"].is_array())
    for (size_t i = 0; i < r["interfaces"].size(); ++i)
      if (r["interfaces"][i].is_object() && !r["interfaces"][i].value("sandbox", "").empty())
        sandboxIfaces.push_back(static_cast<int>(i));
  std::vector<std::string> v4, v6;
  if (r.contains("ips") && r["ips"].is_array()) {
    for (const auto& ip : r["ips"]) {
      if (!ip.is_object() || !ip.contains("address")) continue;
      if (!sandboxIfaces.empty() && ip.contains("interface") && ip["interface"].is_number_integer() &&
          std::find(sandboxIfaces.begin(), sandboxIfaces.end(), ip["interface"].get<int>()) == sandboxIfaces.end())
        continue;
      std::string addr = ip["address"].get<std::string>();
      addr = addr.substr(0, addr.find('/'));
      (addr.find(':') == std::string::npos ? v4 : v6).push_back(addr);
    }
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

bool cniVersionAtLeast(std::string_view version, std::string_view min) {
  // "1.0.0" → {1, 0, 0}; a missing minor or patch is 0.
  auto parse = [](std::string_view v, std::array<int, 3>& out) {
    out = {0, 0, 0};
    size_t part = 0;
    while (part < out.size()) {
      size_t dot = v.find('.');
      std::string_view digits = v.substr(0, dot);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out[part]);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
      ++part;
      if (dot == std::string_view::npos) return true;
      v.remove_prefix(dot + 1);
    }
    return false;  // more than three parts
  };
  std::array<int, 3> a{}, b{};
  return parse(version, a) && parse(min, b) && a >= b;
}

namespace {

// The default network's configuration, as a list.
Result<json> loadDefaultList(const std::string& configDir) {
  auto configs = TRY(findNetworkConfigs(configDir));
  auto text = TRY(sys::readFile(configs.front().path));
  json conf = json::parse(text, nullptr, false);
  if (!conf.is_object()) return fail(Code::FailedPrecondition, configs.front().path + " is no longer valid JSON");
  return asList(std::move(conf));
}

}  // namespace

Result<NetworkStatus> CniNetwork::add(const Attachment& a) {
  json list = TRY(loadDefaultList(configDir_));
  json cached{{"containerId", a.containerId}, {"netns", a.netnsPath}, {"ifName", a.ifName},
              {"args", cniArgs(a.args)},      {"config", list},       {"capabilityArgs", capabilityArgs(a)}};
  // Intent first: a DEL after a crash in the middle of ADD needs this.
  TRY(sys::mkdirAll(paths_.cniCacheDir(), 0700));
  TRY(sys::writeFileAtomic(paths_.cniAttachment(a.containerId), cached.dump(), 0600));
  json prev;
  for (const auto& plugin : list["plugins"]) {
    auto out = invoke(pluginDirs_, "ADD", cached, plugin, prev);
    if (!out) {
      (void)del(a.containerId);
      return fail(out.error().wrap("network " + list.value("name", "")));
    }
    prev = json::parse(*out, nullptr, false);
    if (prev.is_discarded()) {
      (void)del(a.containerId);
      return fail(Code::Internal, "CNI plugin " + plugin.value("type", "") + " returned a result that is not JSON");
    }
  }
  cached["result"] = prev;
  TRY(sys::writeFileAtomic(paths_.cniAttachment(a.containerId), cached.dump(), 0600));
  NetworkStatus st{list.value("name", ""), TRY(podIps(prev.dump())), prev.dump()};
  return st;
}

Result<> CniNetwork::del(const std::string& containerId) {
  auto found = readCache(paths_, containerId);
  if (!found && found.error().code() == Code::NotFound) return {};  // never added, or already deleted
  json cached = TRY(std::move(found));
  json prev = cached.contains("result") ? cached["result"] : json();
  const auto& plugins = cached["config"]["plugins"];
  std::string errors;
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    auto out = invoke(pluginDirs_, "DEL", cached, *it, prev);
    if (!out) errors += (errors.empty() ? "" : "; ") + out.error().message();
  }
  if (!errors.empty()) return fail(Code::Internal, errors);
  ::unlink(paths_.cniAttachment(containerId).c_str());
  return {};
}

Result<> CniNetwork::check(const std::string& containerId) {
  json cached = TRY(readCache(paths_, containerId));
  const json& list = cached["config"];
  if (!cniVersionAtLeast(listVersion(list), "0.4.0") || checkDisabled(list)) return {};
  // ADD writes its result before the pod is ready: without one, ADD never finished.
  if (!cached.contains("result"))
    return fail(Code::FailedPrecondition, "CNI attachment of " + containerId + " has no ADD result");
  for (const auto& plugin : list["plugins"]) {
    auto out = invoke(pluginDirs_, "CHECK", cached, plugin, cached["result"]);
    if (!out) return fail(out.error().wrap("network " + list.value("name", "")));
  }
  return {};
}

Result<> CniNetwork::status() {
  json list = TRY(loadDefaultList(configDir_));
  std::string network = "network " + list.value("name", "");
  for (const auto& plugin : list["plugins"])
    if (auto found = findPlugin(pluginDirs_, plugin.value("type", "")); !found)
      return fail(found.error().wrap(network));
  if (!cniVersionAtLeast(listVersion(list), "1.1.0")) return {};

  std::lock_guard lock(statusMu_);
  auto now = std::chrono::steady_clock::now();
  std::string config = list.dump();
  if (config == statusConfig_ && now - statusAt_ < statusCacheFor_) return statusResult_;
  Result<> result;
  for (const auto& plugin : list["plugins"]) {
    auto out =
        runPlugin(pluginDirs_, "STATUS", requestConfig(list, plugin, nullptr, json()), {}, std::chrono::seconds(10));
    if (!out) {
      result = fail(out.error().wrap(network));
      break;
    }
  }
  statusConfig_ = config;
  statusAt_ = std::chrono::steady_clock::now();
  statusResult_ = result;
  return result;
}

}  // namespace crix::network
