// CDI (the Container Device Interface): ContainerConfig.CDI_devices name
// devices as "vendor.com/class=name"; spec files (JSON) in the configured
// directories say what each one adds to the container: device nodes,
// mounts, environment, hooks, groups. Here the specs are parsed and the
// names resolved; reading the files is the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "spec/container_spec.h"

namespace crix::spec {

struct CdiSpecFile {
  std::string path;
  std::string text;
  int priority = 0;  // the directory's place in cdi_spec_dirs: higher wins
};

// A device node as a CDI spec gives it: the numbers and type may be left
// to the host's node at hostPath (or path).
struct CdiDeviceNode {
  std::string path, hostPath;
  std::optional<char> type;
  std::optional<int64_t> major, minor;
  std::optional<uint32_t> fileMode, uid, gid;
  std::string permissions;
  bool operator==(const CdiDeviceNode&) const = default;
};

// What the named devices add, their specs' own edits included once each.
struct CdiEdits {
  std::vector<std::string> env;  // KEY=VALUE
  std::vector<CdiDeviceNode> deviceNodes;
  std::vector<Mount> mounts;
  std::vector<Hook> hooks;
  std::vector<uint32_t> additionalGids;
};

// Resolves `names` against the spec files. InvalidArgument for a name that
// is not qualified or that no spec defines (naming the files it could not
// read: `unread`, such as YAML specs), for a spec that does not parse, and
// for edits crix cannot apply (a mount other than a bind, intelRdt, network
// devices), naming the spec file.
Result<CdiEdits> resolveCdiDevices(const std::vector<std::string>& names, const std::vector<CdiSpecFile>& files,
                                   const std::vector<std::string>& unread = {});

}  // namespace crix::spec
