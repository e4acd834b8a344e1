#include "lifecycle/sandbox.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace crix::lifecycle {

using nlohmann::json;

std::string podHostname(const PodConfig& c) {
  if (!c.hostname.empty()) return c.hostname;
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string podName(const PodMetadata& m) {
  return "k8s_POD_" + m.name + "_" + m.ns + "_" + m.uid + "_" + std::to_string(m.attempt);
}

namespace {

// Rows carry their format's version (none: 1, which this one reads too).
constexpr int kRecordVersion = 2;

json mappingsJson(const std::vector<sys::IdMapping>& maps) {
  json out = json::array();
  for (const auto& m : maps) out.push_back({m.containerId, m.hostId, m.length});
  return out;
}

std::vector<sys::IdMapping> mappingsFromJson(const json& j) {
  std::vector<sys::IdMapping> out;
  for (const auto& m : j) out.push_back({m.at(0), m.at(1), m.at(2)});
  return out;
}

}  // namespace

std::string toJson(const Sandbox& s) {
  const auto& c = s.config;
  json ports = json::array();
  for (const auto& p : c.portMappings)
    ports.push_back(
        {{"protocol", p.protocol}, {"containerPort", p.containerPort}, {"hostPort", p.hostPort}, {"hostIp", p.hostIp}});
  json j{{"version", kRecordVersion},
         {"id", s.id},
         {"name", s.name},
         {"state", s.state == SandboxState::Ready ? "ready" : "notready"},
         {"createdAt", s.createdAt},
         {"handler", s.handler},
         {"podDir", s.podDir},
         {"netnsPath", s.netnsPath},
         {"usernsPath", s.usernsPath},
         {"ipcnsPath", s.ipcnsPath},
         {"utsnsPath", s.utsnsPath},
         {"network", s.network},
         {"ips", s.ips},
         {"infra", s.infra},
         {"infraPid", s.infraPid},
         {"config",
          {{"metadata",
            {{"name", c.metadata.name},
             {"uid", c.metadata.uid},
             {"namespace", c.metadata.ns},
             {"attempt", c.metadata.attempt}}},
           {"hostname", c.hostname},
           {"logDirectory", c.logDirectory},
           {"dnsServers", c.dnsServers},
           {"dnsSearches", c.dnsSearches},
           {"dnsOptions", c.dnsOptions},
           {"portMappings", ports},
           {"labels", c.labels},
           {"annotations", c.annotations},
           {"cgroupParent", c.cgroupParent},
           {"sysctls", c.sysctls},
           {"network", static_cast<int>(c.network)},
           {"pid", static_cast<int>(c.pid)},
           {"ipc", static_cast<int>(c.ipc)},
           {"userns", static_cast<int>(c.userns)},
           {"uidMappings", mappingsJson(c.uidMappings)},
           {"gidMappings", mappingsJson(c.gidMappings)},
           {"runtimeHandler", c.runtimeHandler},
           {"privileged", c.privileged},
           {"apparmorProfile", c.apparmorProfile},
           {"selinuxLabel", c.selinuxLabel},
           {"resources", spec::resourcesToRecord(c.resources)},
           {"overhead", spec::resourcesToRecord(c.overhead)}}}};
  return j.dump();
}

Result<Sandbox> sandboxFromJson(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("config")) return fail(Code::Internal, "corrupt pod record");
  try {
    if (int version = j.value("version", 1); version > kRecordVersion)
      return fail(Code::Internal, "pod record of format " + std::to_string(version) +
                                      " is newer than this crixd reads (" + std::to_string(kRecordVersion) + ")");
    Sandbox s;
    s.id = j.at("id");
    s.name = j.at("name");
    s.state = j.at("state") == "ready" ? SandboxState::Ready : SandboxState::NotReady;
    s.createdAt = j.at("createdAt");
    s.handler = j.value("handler", "");
    s.podDir = j.value("podDir", "");
    s.netnsPath = j.value("netnsPath", "");
    s.usernsPath = j.value("usernsPath", "");
    s.ipcnsPath = j.value("ipcnsPath", "");
    s.utsnsPath = j.value("utsnsPath", "");
    s.network = j.value("network", "");
    s.ips = j.value("ips", std::vector<std::string>{});
    s.infra = j.value("infra", false);
    s.infraPid = j.value("infraPid", 0);
    const auto& c = j.at("config");
    auto& cfg = s.config;
    cfg.metadata = {c["metadata"].value("name", ""), c["metadata"].value("uid", ""),
                    c["metadata"].value("namespace", ""), c["metadata"].value("attempt", 0u)};
    cfg.hostname = c.value("hostname", "");
    cfg.logDirectory = c.value("logDirectory", "");
    cfg.dnsServers = c.value("dnsServers", std::vector<std::string>{});
    cfg.dnsSearches = c.value("dnsSearches", std::vector<std::string>{});
    cfg.dnsOptions = c.value("dnsOptions", std::vector<std::string>{});
    for (const auto& p : c.value("portMappings", json::array()))
      cfg.portMappings.push_back(
          {p.value("protocol", "tcp"), p.value("containerPort", 0), p.value("hostPort", 0), p.value("hostIp", "")});
    cfg.labels = c.value("labels", std::map<std::string, std::string>{});
    cfg.annotations = c.value("annotations", std::map<std::string, std::string>{});
    cfg.cgroupParent = c.value("cgroupParent", "");
    cfg.sysctls = c.value("sysctls", std::map<std::string, std::string>{});
    cfg.network = static_cast<NamespaceMode>(c.value("network", 0));
    cfg.pid = static_cast<NamespaceMode>(c.value("pid", 1));
    cfg.ipc = static_cast<NamespaceMode>(c.value("ipc", 0));
    cfg.userns = static_cast<NamespaceMode>(c.value("userns", 2));
    cfg.uidMappings = mappingsFromJson(c.value("uidMappings", json::array()));
    cfg.gidMappings = mappingsFromJson(c.value("gidMappings", json::array()));
    cfg.runtimeHandler = c.value("runtimeHandler", "");
    cfg.privileged = c.value("privileged", false);
    cfg.apparmorProfile = c.value("apparmorProfile", "");
    cfg.selinuxLabel = c.value("selinuxLabel", "");
    cfg.resources = spec::resourcesFromRecord(c.value("resources", json::object()));
    cfg.overhead = spec::resourcesFromRecord(c.value("overhead", json::object()));
    return s;
  } catch (const json::exception& e) {
    return fail(Code::Internal, std::string("corrupt pod record: ") + e.what());
  }
}

}  // namespace crix::lifecycle
