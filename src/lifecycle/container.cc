#include "lifecycle/container.h"

#include <nlohmann/json.hpp>

namespace crix::lifecycle {

using nlohmann::json;

std::string containerName(const ContainerConfig& c, const std::string& podName, const std::string& podNs,
                          const std::string& podUid) {
  return "k8s_" + c.name + "_" + podName + "_" + podNs + "_" + podUid + "_" + std::to_string(c.attempt);
}

const char* stateName(ContainerState s) {
  switch (s) {
    case ContainerState::Created: return "created";
    case ContainerState::Running: return "running";
    case ContainerState::Exited: return "exited";
    case ContainerState::Unknown: return "unknown";
  }
  return "unknown";
}

namespace {
ContainerState stateFrom(const std::string& s) {
  if (s == "created") return ContainerState::Created;
  if (s == "running") return ContainerState::Running;
  if (s == "exited") return ContainerState::Exited;
  return ContainerState::Unknown;
}
}  // namespace

namespace {

// Rows carry their format's version. 1 (no key) kept a part of the config;
// 2 keeps all of it. A missing key reads as its default, so rows of either
// load.
constexpr int kRecordVersion = 2;

json optionalJson(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

std::optional<int64_t> optionalFromJson(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<int64_t>();
}

json configToJson(const ContainerConfig& k) {
  json mounts = json::array(), devices = json::array();
  for (const auto& m : k.mounts)
    mounts.push_back({{"containerPath", m.containerPath},
                      {"hostPath", m.hostPath},
                      {"readonly", m.readonly},
                      {"propagation", m.propagation},
                      {"recursiveReadOnly", m.recursiveReadOnly},
                      {"image", m.image},
                      {"imageSubPath", m.imageSubPath}});
  for (const auto& d : k.devices)
    devices.push_back({{"containerPath", d.containerPath}, {"hostPath", d.hostPath}, {"permissions", d.permissions}});
  return {{"name", k.name},
          {"attempt", k.attempt},
          {"image", k.image},
          {"command", k.command},
          {"args", k.args},
          {"envs", k.envs},
          {"workingDir", k.workingDir},
          {"mounts", mounts},
          {"devices", devices},
          {"labels", k.labels},
          {"annotations", k.annotations},
          {"logPath", k.logPath},
          {"stdin", k.stdin},
          {"stdinOnce", k.stdinOnce},
          {"tty", k.tty},
          {"privileged", k.privileged},
          {"readonlyRootfs", k.readonlyRootfs},
          {"noNewPrivs", k.noNewPrivs},
          {"runAsUser", optionalJson(k.runAsUser)},
          {"runAsGroup", optionalJson(k.runAsGroup)},
          {"runAsUsername", k.runAsUsername},
          {"supplementalGroups", k.supplementalGroups},
          {"strictSupplementalGroups", k.strictSupplementalGroups},
          {"cdiDevices", k.cdiDevices},
          {"capAdd", k.capAdd},
          {"capDrop", k.capDrop},
          {"pidMode", k.pidMode},
          {"resources", spec::resourcesToRecord(k.resources)},
          {"oomScoreAdj", k.oomScoreAdj},
          {"maskedPaths", k.maskedPaths},
          {"readonlyPaths", k.readonlyPaths},
          {"seccompProfile", k.seccompProfile},
          {"stopSignal", k.stopSignal},
          {"apparmorProfile", k.apparmorProfile},
          {"selinuxLabel", k.selinuxLabel}};
}

ContainerConfig configFromJson(const json& k) {
  using Strings = std::vector<std::string>;
  using StringMap = std::map<std::string, std::string>;
  ContainerConfig cfg;
  cfg.name = k.value("name", "");
  cfg.attempt = k.value("attempt", 0u);
  cfg.image = k.value("image", "");
  cfg.command = k.value("command", Strings{});
  cfg.args = k.value("args", Strings{});
  cfg.envs = k.value("envs", Strings{});
  cfg.workingDir = k.value("workingDir", "");
  for (const auto& m : k.value("mounts", json::array())) {
    spec::Mount mount{m.value("containerPath", ""), m.value("hostPath", ""), m.value("readonly", false),
                      m.value("propagation", "rprivate"), m.value("recursiveReadOnly", false)};
    mount.image = m.value("image", "");
    mount.imageSubPath = m.value("imageSubPath", "");
    cfg.mounts.push_back(std::move(mount));
  }
  for (const auto& d : k.value("devices", json::array()))
    cfg.devices.push_back({d.value("containerPath", ""), d.value("hostPath", ""), d.value("permissions", "")});
  cfg.labels = k.value("labels", StringMap{});
  cfg.annotations = k.value("annotations", StringMap{});
  cfg.logPath = k.value("logPath", "");
  cfg.stdin = k.value("stdin", false);
  cfg.stdinOnce = k.value("stdinOnce", false);
  cfg.tty = k.value("tty", false);
  cfg.privileged = k.value("privileged", false);
  cfg.readonlyRootfs = k.value("readonlyRootfs", false);
  cfg.noNewPrivs = k.value("noNewPrivs", false);
  cfg.runAsUser = optionalFromJson(k, "runAsUser");
  cfg.runAsGroup = optionalFromJson(k, "runAsGroup");
  cfg.runAsUsername = k.value("runAsUsername", "");
  cfg.supplementalGroups = k.value("supplementalGroups", std::vector<int64_t>{});
  cfg.strictSupplementalGroups = k.value("strictSupplementalGroups", false);
  cfg.cdiDevices = k.value("cdiDevices", Strings{});
  cfg.capAdd = k.value("capAdd", Strings{});
  cfg.capDrop = k.value("capDrop", Strings{});
  cfg.pidMode = k.value("pidMode", 1);
  cfg.resources = spec::resourcesFromRecord(k.value("resources", json::object()));
  cfg.oomScoreAdj = k.value("oomScoreAdj", int64_t{0});
  cfg.maskedPaths = k.value("maskedPaths", Strings{});
  cfg.readonlyPaths = k.value("readonlyPaths", Strings{});
  cfg.seccompProfile = k.value("seccompProfile", "");
  cfg.stopSignal = k.value("stopSignal", 0);
  cfg.apparmorProfile = k.value("apparmorProfile", "");
  cfg.selinuxLabel = k.value("selinuxLabel", "");
  return cfg;
}

}  // namespace

std::string toJson(const Container& c) {
  return json{{"version", kRecordVersion},
              {"id", c.id},
              {"podId", c.podId},
              {"name", c.name},
              {"config", configToJson(c.config)},
              {"imageId", c.imageId},
              {"imageRef", c.imageRef},
              {"chainIds", c.chainIds},
              {"volumeImageIds", c.volumeImageIds},
              {"volumeChainIds", c.volumeChainIds},
              {"state", stateName(c.state)},
              {"createdAt", c.createdAt},
              {"startedAt", c.startedAt},
              {"finishedAt", c.finishedAt},
              {"exitCode", c.exitCode},
              {"reason", c.reason},
              {"message", c.message},
              {"logPath", c.logPath},
              {"bundle", c.bundle},
              {"handler", c.handler},
              {"cgroupsPath", c.cgroupsPath},
              {"pid", c.pid},
              {"droppedLimits", c.droppedLimits},
              {"stopSignal", c.stopSignal},
              {"user", {{"uid", c.user.uid}, {"gid", c.user.gid}, {"groups", c.user.groups}}}}
      .dump();
}

Result<Container> containerFromJson(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return fail(Code::Internal, "corrupt container record");
  try {
    if (int version = j.value("version", 1); version > kRecordVersion)
      return fail(Code::Internal, "container record of format " + std::to_string(version) +
                                      " is newer than this crixd reads (" + std::to_string(kRecordVersion) + ")");
    Container c;
    c.id = j.at("id");
    c.podId = j.at("podId");
    c.name = j.at("name");
    c.config = configFromJson(j.at("config"));
    c.imageId = j.value("imageId", "");
    c.imageRef = j.value("imageRef", "");
    c.chainIds = j.value("chainIds", std::vector<std::string>{});
    c.volumeImageIds = j.value("volumeImageIds", std::vector<std::string>{});
    c.volumeChainIds = j.value("volumeChainIds", std::vector<std::string>{});
    c.state = stateFrom(j.value("state", ""));
    c.createdAt = j.value("createdAt", int64_t{0});
    c.startedAt = j.value("startedAt", int64_t{0});
    c.finishedAt = j.value("finishedAt", int64_t{0});
    c.exitCode = j.value("exitCode", 0);
    c.reason = j.value("reason", "");
    c.message = j.value("message", "");
    c.logPath = j.value("logPath", "");
    c.bundle = j.value("bundle", "");
    c.handler = j.value("handler", "");
    c.cgroupsPath = j.value("cgroupsPath", "");
    c.pid = j.value("pid", 0);
    c.droppedLimits = j.value("droppedLimits", std::vector<std::string>{});
    c.stopSignal = j.value("stopSignal", SIGTERM);  // rows from before stop signals: SIGTERM
    if (auto u = j.value("user", json::object()); !u.empty())
      c.user = {u.value("uid", 0u), u.value("gid", 0u), u.value("groups", std::vector<uint32_t>{})};
    return c;
  } catch (const json::exception& e) {
    return fail(Code::Internal, std::string("corrupt container record: ") + e.what());
  }
}

}  // namespace crix::lifecycle
