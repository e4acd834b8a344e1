#include "network/cni_config.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "sys/fs.h"

namespace crix::network {
namespace {

// Why a file is not a usable network configuration, or "" when it is.
std::string problem(const nlohmann::json& doc, bool isList) {
  if (!doc.is_object()) return "not a JSON object";
  if (!doc.contains("name") || !doc["name"].is_string() || doc["name"].get<std::string>().empty()) return "no \"name\"";
  if (isList) {
    if (!doc.contains("plugins") || !doc["plugins"].is_array() || doc["plugins"].empty()) return "no \"plugins\"";
    for (const auto& p : doc["plugins"])
      if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) return "a plugin without \"type\"";
    return "";
  }
  if (!doc.contains("type") || !doc["type"].is_string()) return "no \"type\"";
  return "";
}

}  // namespace

Result<std::vector<NetworkConfigFile>> findNetworkConfigs(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return failErrno("read CNI config directory " + dir, errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.ends_with(".conflist") || n.ends_with(".conf") || n.ends_with(".json")) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());

  std::vector<NetworkConfigFile> found;
  std::string skipped;
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    auto text = sys::readFile(path);
    std::string why;
    nlohmann::json doc;
    if (!text) {
      why = text.error().message();
    } else {
      doc = nlohmann::json::parse(*text, nullptr, false);
      why = doc.is_discarded() ? "not valid JSON" : problem(doc, n.ends_with(".conflist"));
    }
    if (!why.empty()) {
      skipped += (skipped.empty() ? "" : "; ") + n + ": " + why;
      continue;
    }
    found.push_back({path, doc["name"].get<std::string>()});
  }
  if (found.empty())
    return fail(Code::NotFound,
                "no CNI network configuration in " + dir + (skipped.empty() ? "" : " (skipped " + skipped + ")"));
  return found;
}

}  // namespace crix::network
