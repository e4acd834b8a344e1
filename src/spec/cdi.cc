#include "spec/cdi.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace crix::spec {
namespace {

using nlohmann::json;

const std::set<std::string>& hookStages() {
  static const std::set<std::string> stages = {"prestart",       "createRuntime", "createContainer",
                                               "startContainer", "poststart",     "poststop"};
  return stages;
}

// Options a bind mount from a CDI spec may carry beyond ro/rw and propagation.
const std::set<std::string>& passedMountOptions() {
  static const std::set<std::string> options = {"nosuid", "suid",    "nodev",    "dev",       "noexec",
                                                "exec",   "noatime", "relatime", "nodiratime"};
  return options;
}

struct Found {
  const CdiSpecFile* file = nullptr;
  const json* spec = nullptr;    // the whole spec: its own edits apply with any of its devices
  const json* device = nullptr;  // the device's entry
};

template <typename T>
Result<T> field(const json& j, const char* key, const std::string& where) {
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    return fail(Code::InvalidArgument, where + ": \"" + key + "\" is missing or of the wrong type");
  }
}

Result<> addEdits(const json& edits, const std::string& where, CdiEdits& out) {
  if (edits.is_null()) return {};
  if (!edits.is_object()) return fail(Code::InvalidArgument, where + ": containerEdits is not an object");
  for (const char* unsupported : {"intelRdt", "netDevices"})
    if (edits.contains(unsupported))
      return fail(Code::InvalidArgument, where + ": crix cannot apply CDI " + unsupported + " edits");
  try {
    for (const auto& e : edits.value("env", json::array())) {
      std::string kv = e.get<std::string>();
      if (kv.find('=') == std::string::npos || kv.front() == '=')
        return fail(Code::InvalidArgument, where + ": env entry \"" + kv + "\" is not KEY=VALUE");
      out.env.push_back(kv);
    }
    for (const auto& d : edits.value("deviceNodes", json::array())) {
      CdiDeviceNode n;
      n.path = TRY(field<std::string>(d, "path", where + ": deviceNodes"));
      if (n.path.empty() || n.path[0] != '/')
        return fail(Code::InvalidArgument, where + ": device node path \"" + n.path + "\" is not absolute");
      n.hostPath = d.value("hostPath", "");
      if (d.contains("type")) {
        std::string t = d.at("type").get<std::string>();
        if (t != "c" && t != "b" && t != "u")
          return fail(Code::InvalidArgument, where + ": device " + n.path + " has type \"" + t + "\" (c, b or u)");
        n.type = t == "b" ? 'b' : 'c';
      }
      if (d.contains("major")) n.major = d.at("major").get<int64_t>();
      if (d.contains("minor")) n.minor = d.at("minor").get<int64_t>();
      if (d.contains("fileMode")) n.fileMode = d.at("fileMode").get<uint32_t>();
      if (d.contains("uid")) n.uid = d.at("uid").get<uint32_t>();
      if (d.contains("gid")) n.gid = d.at("gid").get<uint32_t>();
      n.permissions = d.value("permissions", "");
      if (n.permissions.find_first_not_of("rwm") != std::string::npos)
        return fail(Code::InvalidArgument,
                    where + ": device " + n.path + " permissions \"" + n.permissions + "\" (any of r, w and m)");
      out.deviceNodes.push_back(n);
    }
    for (const auto& m : edits.value("mounts", json::array())) {
      Mount mount;
      mount.hostPath = TRY(field<std::string>(m, "hostPath", where + ": mounts"));
      mount.containerPath = TRY(field<std::string>(m, "containerPath", where + ": mounts"));
      if (mount.containerPath.empty() || mount.containerPath[0] != '/')
        return fail(Code::InvalidArgument, where + ": mount path \"" + mount.containerPath + "\" is not absolute");
      if (std::string type = m.value("type", "bind"); type != "bind")
        return fail(Code::InvalidArgument,
                    where + ": mount " + mount.containerPath + " of type " + type + ": crix makes bind mounts only");
      for (const auto& o : m.value("options", json::array())) {
        std::string opt = o.get<std::string>();
        if (opt == "ro" || opt == "rw")
          mount.readonly = opt == "ro";
        else if (opt == "bind" || opt == "rbind")
          continue;  // always rbind
        else if (opt == "private" || opt == "rprivate" || opt == "slave" || opt == "rslave" || opt == "shared" ||
                 opt == "rshared")
          mount.propagation = opt[0] == 'r' ? opt : "r" + opt;
        else if (passedMountOptions().count(opt))
          mount.options.push_back(opt);
        else
          return fail(Code::InvalidArgument,
                      where + ": mount " + mount.containerPath + " option \"" + opt + "\" is not one crix applies");
      }
      out.mounts.push_back(mount);
    }
    for (const auto& h : edits.value("hooks", json::array())) {
      Hook hook;
      hook.stage = TRY(field<std::string>(h, "hookName", where + ": hooks"));
      if (!hookStages().count(hook.stage))
        return fail(Code::InvalidArgument, where + ": unknown hook \"" + hook.stage + "\"");
      hook.path = TRY(field<std::string>(h, "path", where + ": hooks"));
      hook.args = h.value("args", std::vector<std::string>{});
      hook.env = h.value("env", std::vector<std::string>{});
      hook.timeout = h.value("timeout", 0);
      out.hooks.push_back(hook);
    }
    for (const auto& g : edits.value("additionalGids", json::array())) {
      auto gid = g.get<uint32_t>();
      if (gid == 0) continue;  // the CDI spec: 0 is left out
      if (std::find(out.additionalGids.begin(), out.additionalGids.end(), gid) == out.additionalGids.end())
        out.additionalGids.push_back(gid);
    }
  } catch (const json::exception& e) {
    return fail(Code::InvalidArgument, where + ": " + e.what());
  }
  return {};
}

}  // namespace

Result<CdiEdits> resolveCdiDevices(const std::vector<std::string>& names, const std::vector<CdiSpecFile>& files,
                                   const std::vector<std::string>& unread) {
  CdiEdits out;
  if (names.empty()) return out;
  // Every device of every spec, by qualified name; the higher priority wins.
  std::map<std::string, Found> devices;
  std::vector<json> specs;
  specs.reserve(files.size());  // Found points into it
  for (const auto& f : files) {
    const json& spec = specs.emplace_back(json::parse(f.text, nullptr, false));
    if (!spec.is_object()) return fail(Code::InvalidArgument, "CDI spec " + f.path + " is not a JSON object");
    auto kind = TRY(field<std::string>(spec, "kind", "CDI spec " + f.path));
    auto slash = kind.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == kind.size())
      return fail(Code::InvalidArgument, "CDI spec " + f.path + ": kind \"" + kind + "\" is not vendor/class");
    if (!spec.contains("devices") || !spec["devices"].is_array())
      return fail(Code::InvalidArgument, "CDI spec " + f.path + ": devices is not a list");
    for (const auto& d : spec["devices"]) {
      auto name = TRY(field<std::string>(d, "name", "CDI spec " + f.path + ": devices"));
      std::string qualified = kind + "=" + name;
      auto it = devices.find(qualified);
      if (it != devices.end()) {
        if (it->second.file->priority == f.priority)
          return fail(Code::InvalidArgument,
                      "CDI device " + qualified + " is defined by both " + it->second.file->path + " and " + f.path);
        if (it->second.file->priority > f.priority) continue;
      }
      devices[qualified] = {&f, &spec, &d};
    }
  }
  std::set<const CdiSpecFile*> specEditsDone;
  for (const auto& name : names) {
    auto eq = name.find('=');
    if (eq == std::string::npos || name.find('/') > eq)
      return fail(Code::InvalidArgument, "CDI device \"" + name + "\" is not a qualified name (vendor.com/class=name)");
    auto it = devices.find(name);
    if (it == devices.end()) {
      std::string why = "CDI device " + name + " is defined by no spec";
      if (!unread.empty()) {
        why += " crix read (it reads JSON specs only; not read:";
        for (const auto& u : unread) why += " " + u;
        why += ")";
      }
      return fail(Code::InvalidArgument, why);
    }
    const Found& found = it->second;
    if (specEditsDone.insert(found.file).second)
      TRY(addEdits(found.spec->value("containerEdits", json()), "CDI spec " + found.file->path, out));
    TRY(addEdits(found.device->value("containerEdits", json()), "CDI spec " + found.file->path + ", device " + name,
                 out));
  }
  return out;
}

}  // namespace crix::spec
