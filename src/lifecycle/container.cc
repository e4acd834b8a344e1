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

std::string toJson(const Container& c) {
  const auto& k = c.config;
  json mounts = json::array();
  for (const auto& m : k.mounts)
    mounts.push_back({{"containerPath", m.containerPath},
                      {"hostPath", m.hostPath},
                      {"readonly", m.readonly},
                      {"propagation", m.propagation}});
  json cfg{{"name", k.name},
           {"attempt", k.attempt},
           {"image", k.image},
           {"command", k.command},
           {"args", k.args},
           {"envs", k.envs},
           {"workingDir", k.workingDir},
           {"mounts", mounts},
           {"labels", k.labels},
           {"annotations", k.annotations},
           {"logPath", k.logPath},
           {"tty", k.tty},
           {"stdin", k.stdin},
           {"stdinOnce", k.stdinOnce},
           {"privileged", k.privileged}};
  return json{{"id", c.id},
              {"podId", c.podId},
              {"name", c.name},
              {"config", cfg},
              {"imageId", c.imageId},
              {"chainIds", c.chainIds},
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
              {"droppedLimits", c.droppedLimits}}
      .dump();
}

Result<Container> containerFromJson(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return fail(Code::Internal, "corrupt container record");
  try {
    Container c;
    c.id = j.at("id");
    c.podId = j.at("podId");
    c.name = j.at("name");
    c.imageId = j.value("imageId", "");
    c.chainIds = j.value("chainIds", std::vector<std::string>{});
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
    c.pid = j.value("pid", 0);
    c.cgroupsPath = j.value("cgroupsPath", "");
    c.droppedLimits = j.value("droppedLimits", std::vector<std::string>{});
    const auto& k = j.at("config");
    auto& cfg = c.config;
    cfg.name = k.value("name", "");
    cfg.attempt = k.value("attempt", 0u);
    cfg.image = k.value("image", "");
    cfg.command = k.value("command", std::vector<std::string>{});
    cfg.args = k.value("args", std::vector<std::string>{});
    cfg.envs = k.value("envs", std::vector<std::string>{});
    cfg.workingDir = k.value("workingDir", "");
    for (const auto& m : k.value("mounts", json::array()))
      cfg.mounts.push_back({m.value("containerPath", ""), m.value("hostPath", ""), m.value("readonly", false),
                            m.value("propagation", "rprivate")});
    cfg.labels = k.value("labels", std::map<std::string, std::string>{});
    cfg.annotations = k.value("annotations", std::map<std::string, std::string>{});
    cfg.logPath = k.value("logPath", "");
    cfg.tty = k.value("tty", false);
    cfg.stdin = k.value("stdin", false);
    cfg.stdinOnce = k.value("stdinOnce", false);
    cfg.privileged = k.value("privileged", false);
    return c;
  } catch (const json::exception& e) {
    return fail(Code::Internal, std::string("corrupt container record: ") + e.what());
  }
}

}  // namespace crix::lifecycle
