#include "network/cni.h"

#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "network/cni_config.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::network {
namespace {

using nlohmann::json;

std::string cachePath(const std::string& dir, const std::string& id) {
  return dir + "/" + id + ".json";
}

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

// Runs one plugin; returns its stdout (the result) or the plugin's error.
Result<std::string> invoke(const std::vector<std::string>& pluginDirs, const std::string& command, const json& cached,
                           const json& plugin, const json& prevResult) {
  std::string type = plugin.value("type", "");
  std::string bin;
  for (const auto& d : pluginDirs) {
    if (::access((d + "/" + type).c_str(), X_OK) == 0) {
      bin = d + "/" + type;
      break;
    }
  }
  if (bin.empty())
    return fail(Code::FailedPrecondition, "CNI plugin \"" + type + "\" not found in the plugin directories");
  const json& list = cached["config"];
  json conf = plugin;
  conf["cniVersion"] = list.value("cniVersion", "1.0.0");
  conf["name"] = list.value("name", "");
  json rc = runtimeConfig(plugin, cached["capabilityArgs"]);
  if (!rc.empty()) conf["runtimeConfig"] = rc;
  if (!prevResult.is_null()) conf["prevResult"] = prevResult;

  std::string path;
  for (const auto& d : pluginDirs) path += (path.empty() ? "" : ":") + d;
  std::vector<std::string> env = {"CNI_COMMAND=" + command,
                                  "CNI_CONTAINERID=" + cached["containerId"].get<std::string>(),
                                  "CNI_NETNS=" + cached["netns"].get<std::string>(),
                                  "CNI_IFNAME=" + cached["ifName"].get<std::string>(),
                                  "CNI_ARGS=" + cached["args"].get<std::string>(),
                                  "CNI_PATH=" + path,
                                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  auto ran = TRY(sys::runCommand({bin}, {.timeout = std::chrono::seconds(60), .stdinData = conf.dump(), .env = env}));
  if (ran.exitCode != 0) {
    auto err = json::parse(ran.out, nullptr, false);
    std::string msg = err.is_object()
                          ? err.value("msg", "") + (err.contains("details") ? ": " + err.value("details", "") : "")
                          : ran.out + ran.err;
    return fail(Code::Internal,
                "CNI " + command + " " + type + " failed (exit " + std::to_string(ran.exitCode) + "): " + msg);
  }
  return ran.out;
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

Result<NetworkStatus> CniNetwork::add(const Attachment& a) {
  auto configs = TRY(findNetworkConfigs(configDir_));
  auto text = TRY(sys::readFile(configs.front().path));
  json list = json::parse(text, nullptr, false);
  if (!list.contains("plugins"))
    list = json{
        {"cniVersion", list.value("cniVersion", "1.0.0")}, {"name", list["name"]}, {"plugins", json::array({list})}};
  json cached{{"containerId", a.containerId}, {"netns", a.netnsPath}, {"ifName", a.ifName},
              {"args", cniArgs(a.args)},      {"config", list},       {"capabilityArgs", capabilityArgs(a)}};
  // Intent first: a DEL after a crash in the middle of ADD needs this.
  TRY(sys::mkdirAll(cacheDir_, 0700));
  TRY(sys::writeFileAtomic(cachePath(cacheDir_, a.containerId), cached.dump(), 0600));
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
  TRY(sys::writeFileAtomic(cachePath(cacheDir_, a.containerId), cached.dump(), 0600));
  NetworkStatus st{list.value("name", ""), TRY(podIps(prev.dump())), prev.dump()};
  return st;
}

Result<> CniNetwork::del(const std::string& containerId) {
  auto text = sys::readFile(cachePath(cacheDir_, containerId));
  if (!text) return {};  // never added, or already deleted
  json cached = json::parse(*text, nullptr, false);
  if (!cached.is_object()) return fail(Code::Internal, "corrupt CNI cache for " + containerId);
  json prev = cached.contains("result") ? cached["result"] : json();
  const auto& plugins = cached["config"]["plugins"];
  std::string errors;
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    auto out = invoke(pluginDirs_, "DEL", cached, *it, prev);
    if (!out) errors += (errors.empty() ? "" : "; ") + out.error().message();
  }
  if (!errors.empty()) return fail(Code::Internal, errors);
  ::unlink(cachePath(cacheDir_, containerId).c_str());
  return {};
}

}  // namespace crix::network
