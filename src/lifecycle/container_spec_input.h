// CreateContainer's mapping from the CRI config, the image config and the
// pod to the spec builder's input. Pure: what CreateContainer learned from
// the host first (the mounted rootfs, the resolved user, the volumes as the
// runtime will see them, crixd's own capabilities and oom_score_adj, a
// Localhost seccomp profile's text) comes in as HostFacts, so each rule is
// one row of a table test (tests/lifecycle/container_spec_input_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/paths.h"
#include "config/config.h"
#include "image/manifest.h"
#include "lifecycle/container.h"
#include "lifecycle/sandbox.h"
#include "security/seccomp.h"
#include "spec/cdi.h"
#include "spec/container_spec.h"
#include "spec/user.h"

namespace crix::lifecycle {

struct HostFacts {
  std::string rootfs;       // mounted
  spec::ResolvedUser user;  // in the container's own /etc/passwd and /etc/group
  // The CRI mounts in order, their sources as the runtime sees them
  // (idmapped through the pod's user namespace, if it has one).
  std::vector<spec::Mount> volumes;
  std::vector<spec::Mount> imageVolumes;     // a fresh directory for each of the image's Volumes
  std::vector<spec::DeviceNode> devices;     // the CRI's, then the CDI devices' nodes
  spec::CdiEdits cdi;                        // the CDI devices' other edits (their nodes are in devices above)
  std::vector<std::string> ownCapabilities;  // what crixd may give (its bounding set)
  int ownOomScoreAdj = -1000;                // a container's cannot go below it
  security::SeccompRequest seccomp;
  std::string seccompText;    // a Localhost profile's contents
  spec::Resources resources;  // those the host can enforce
  std::string cgroupsPath;
  std::string hostname;  // the pod's
  Paths paths{"", ""};   // where the pod's files are
};

// The user the image and the config ask for, as spec::resolveUser takes it.
std::string requestedUser(const ContainerConfig& cc, const image::ImageConfig& img);

// The image's Volumes that get a fresh directory: absolute, and not covered
// by a CRI mount.
std::vector<std::string> imageVolumesToMake(const ContainerConfig& cc, const image::ImageConfig& img);

// The signal that stops the container: the config's (KEP-4960), else the
// image's StopSignal, else SIGTERM. An image's that names no signal is
// InvalidArgument.
Result<int> stopSignalFor(const ContainerConfig& cc, const image::ImageConfig& img);

Result<spec::ContainerSpecInput> containerSpecInput(const ContainerConfig& cc, const image::ImageConfig& img,
                                                    const Sandbox& pod, const config::RuntimeHandler& handler,
                                                    const HostFacts& host);

}  // namespace crix::lifecycle
