#include "spec/gvisor_mounts.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <optional>

namespace crix::spec {
namespace {

using nlohmann::json;

constexpr const char* kEmptyDirPlugin = "kubernetes.io~empty-dir";
constexpr const char* kShmPath = "/dev/shm";

std::string annotation(const json& spec, const std::string& key) {
  if (!spec.contains("annotations") || !spec["annotations"].is_object()) return "";
  auto it = spec["annotations"].find(key);
  return it != spec["annotations"].end() && it->is_string() ? it->get<std::string>() : "";
}

// "dev.gvisor.spec.mount.<volume>.<field>" → (volume, field); the field is
// the last dot-separated part, the volume the first.
struct HintKey {
  std::string volume, field;
};

std::optional<HintKey> parseHintKey(const std::string& key) {
  if (!key.starts_with(kMountHintPrefix)) return std::nullopt;
  std::string rest = key.substr(std::string(kMountHintPrefix).size());
  auto firstDot = rest.find('.');
  auto lastDot = rest.rfind('.');
  if (firstDot == std::string::npos || firstDot == 0 || lastDot + 1 == rest.size()) return std::nullopt;
  return HintKey{rest.substr(0, firstDot), rest.substr(lastDot + 1)};
}

// The "type" hints of a spec: volume → hinted type.
std::map<std::string, std::string> typeHints(const json& spec) {
  std::map<std::string, std::string> out;
  if (!spec.contains("annotations") || !spec["annotations"].is_object()) return out;
  for (const auto& [k, v] : spec["annotations"].items()) {
    auto hint = parseHintKey(k);
    if (hint && hint->field == "type" && v.is_string()) out[hint->volume] = v.get<std::string>();
  }
  return out;
}

// A volume name becomes part of a glob pattern and a path: it must be one
// plain path element.
Result<> checkVolumeName(const std::string& volume) {
  if (volume.find_first_of("/*?[]\\") != std::string::npos)
    return fail(Code::InvalidArgument, "gVisor mount hint names a bad volume \"" + volume + "\"");
  return {};
}

Result<bool> rewriteSandbox(json& spec, const std::string& podsDir, const Glob& glob) {
  auto hints = typeHints(spec);
  if (hints.empty()) return false;
  auto uid = podUidFromLogDirectory(annotation(spec, kSandboxLogDirAnnotation));
  if (!uid) return fail(uid.error().wrap("gVisor mount hints need the pod UID"));
  for (const auto& [volume, type] : hints) {
    TRY(checkVolumeName(volume));
    std::string pattern = podsDir + "/" + *uid + "/volumes/*/" + volume;
    auto found = glob(pattern);
    if (found.size() != 1) {
      std::string list;
      for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
      return fail(Code::InvalidArgument, "gVisor mount hint for volume \"" + volume + "\": want one directory " +
                                             pattern + ", found " + std::to_string(found.size()) +
                                             (list.empty() ? "" : " (" + list + ")"));
    }
    std::string key = std::string(kMountHintPrefix) + volume;
    spec["annotations"][key + ".source"] = found.front();
    // runsc tells a memory EmptyDir (tmpfs mount) from a disk one (bind
    // mount) by the container's mount type; the hint itself says tmpfs.
    if (found.front().find(kEmptyDirPlugin) != std::string::npos) spec["annotations"][key + ".type"] = "tmpfs";
  }
  return true;
}

bool rewriteContainer(json& spec, const std::string& podsDir) {
  if (!spec.contains("mounts") || !spec["mounts"].is_array()) return false;
  bool changed = false;
  for (const auto& [volume, type] : typeHints(spec)) {
    if (!checkVolumeName(volume)) continue;
    // Volume names are unique in a pod, so any pod UID may match.
    std::string pattern = podsDir + "/*/volumes/*/" + volume;
    for (auto& m : spec["mounts"]) {
      std::string source = m.value("source", "");
      if (::fnmatch(pattern.c_str(), source.c_str(), FNM_PATHNAME) != 0) continue;
      changeMountType(m, type);
      changed = true;
    }
  }
  return changed;
}

bool rewriteShm(json& spec, bool sandbox) {
  if (!spec.contains("mounts") || !spec["mounts"].is_array()) return false;
  auto& mounts = spec["mounts"];
  auto isShm = [](const json& m, const char* type) {
    return m.value("destination", "") == kShmPath && m.value("type", "") == type;
  };
  auto bind = std::find_if(mounts.begin(), mounts.end(), [&](const json& m) { return isShm(m, "bind"); });
  if (bind == mounts.end()) return false;
  size_t bindIndex = static_cast<size_t>(bind - mounts.begin());
  if (sandbox) {
    std::string key = std::string(kMountHintPrefix) + kDevShmHint;
    spec["annotations"][key + ".source"] = (*bind).value("source", "");
    spec["annotations"][key + ".type"] = "tmpfs";
    spec["annotations"][key + ".share"] = "pod";
    // Each container applies its own options to its mount; the pod-wide
    // tmpfs itself is writable.
    spec["annotations"][key + ".options"] = "rw";
  }
  changeMountType(mounts[bindIndex], "tmpfs");
  auto duplicate = std::find_if(mounts.begin(), mounts.end(), [&](const json& m) {
    return &m != &mounts[bindIndex] && m.value("destination", "") == kShmPath && m.value("type", "") == "tmpfs";
  });
  if (duplicate != mounts.end()) mounts.erase(duplicate);
  return true;
}

}  // namespace

Result<std::string> podUidFromLogDirectory(const std::string& logDirectory) {
  if (logDirectory.empty()) return fail(Code::InvalidArgument, "the pod has no log directory");
  std::string dir = logDirectory;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string base = dir.substr(dir.rfind('/') + 1);
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    auto us = base.find('_', start);
    fields.push_back(base.substr(start, us - start));
    if (us == std::string::npos) break;
    start = us + 1;
  }
  std::string uid;
  if (fields.size() == 1) uid = fields[0];  // /var/log/pods/<uid>
  if (fields.size() == 3) uid = fields[2];  // /var/log/pods/<namespace>_<name>_<uid>
  if (uid.empty() || uid == "." || uid == "..")
    return fail(Code::InvalidArgument, "log directory \"" + logDirectory +
                                           "\" names no pod UID (want .../<namespace>_<name>_<uid> or .../<uid>)");
  return uid;
}

void changeMountType(json& mount, const std::string& type) {
  mount["type"] = type;
  if (type == "bind" || !mount.contains("options") || !mount["options"].is_array()) return;
  json kept = json::array();
  for (const auto& o : mount["options"])
    if (o != "bind" && o != "rbind") kept.push_back(o);
  mount["options"] = kept;
}

Result<bool> rewriteGvisorMountHints(json& spec, const std::string& kubeletPodsDir, const Glob& glob) {
  bool sandbox = annotation(spec, kContainerTypeAnnotation) != "container";
  bool changed = sandbox ? TRY(rewriteSandbox(spec, kubeletPodsDir, glob)) : rewriteContainer(spec, kubeletPodsDir);
  if (rewriteShm(spec, sandbox)) changed = true;
  return changed;
}

}  // namespace crix::spec
