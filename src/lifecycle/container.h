// The container model and its states.
//
//   CreateContainer ──► CREATED ──StartContainer──► RUNNING ──(exits | StopContainer)──► EXITED
//                          │                                                              │
//                          └───────────────────── RemoveContainer ◄──────────────────────┘
//                                       (RemoveContainer stops a RUNNING one first)
//
// A container owns its reserved name, its writable layer and rootfs
// (<root>/containers/<id>), its bundle (<state_dir>/containers/<id>), its
// conmon and runtime state, its exit file and its store row. The row's
// state column is "creating" from before CreateContainer's first host
// effect until the container is created; a crash leaves it so, and start-up
// rolls it back (ContainerManager::load).
#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "spec/container_spec.h"

namespace crix::lifecycle {

enum class ContainerState { Created, Running, Exited, Unknown };

struct ContainerConfig {
  std::string name;
  uint32_t attempt = 0;
  std::string image;  // as the kubelet asked for it
  std::vector<std::string> command, args, envs;
  std::string workingDir;
  std::vector<spec::Mount> mounts;
  struct Device {
    std::string containerPath, hostPath, permissions;
    bool operator==(const Device&) const = default;
  };
  std::vector<Device> devices;
  std::map<std::string, std::string> labels, annotations;
  std::string logPath;  // relative to the pod's log directory
  bool stdin = false, stdinOnce = false, tty = false;
  bool privileged = false, readonlyRootfs = false, noNewPrivs = false;
  std::optional<int64_t> runAsUser, runAsGroup;
  std::string runAsUsername;
  std::vector<int64_t> supplementalGroups;
  // SupplementalGroupsPolicy Strict: the process gets only the groups above
  // (and its primary one), none of its user's from the image's /etc/group.
  bool strictSupplementalGroups = false;
  // CDI devices by qualified name (vendor.com/class=name): the CRI's
  // CDI_devices, then those of cdi.k8s.io/ annotations.
  std::vector<std::string> cdiDevices;
  std::vector<std::string> capAdd, capDrop;
  int pidMode = 1;            // the CRI NamespaceMode for PID: POD 0, CONTAINER 1, NODE 2
  spec::Resources resources;  // as asked for; the spec gets what the host can enforce
  int64_t oomScoreAdj = 0;
  std::vector<std::string> maskedPaths, readonlyPaths;  // empty: the defaults
  std::string seccompProfile;  // "", unconfined, runtime/default, docker/default, localhost/<path>
  int stopSignal = 0;          // as asked for; 0: the runtime's default (the image's, else SIGTERM)
  // As security/lsm.h spells them; crix applies neither (refused when asked).
  std::string apparmorProfile, selinuxLabel;
  bool operator==(const ContainerConfig&) const = default;
};

struct Container {
  std::string id, podId, name;
  ContainerConfig config;
  std::string imageId;
  // The repo digest it was created from (image::imageRefFor), else the id;
  // empty in rows from before crix kept it.
  std::string imageRef;
  std::vector<std::string> chainIds;  // the image's layers under this rootfs
  // The images its image volumes mount, in the order of those mounts, and
  // their layers: neither goes while the container is there.
  std::vector<std::string> volumeImageIds, volumeChainIds;
  ContainerState state = ContainerState::Created;
  int64_t createdAt = 0, startedAt = 0, finishedAt = 0;
  int exitCode = 0;
  std::string reason, message;
  std::string logPath;  // absolute, or empty
  std::string bundle;
  std::string handler;
  std::string cgroupsPath;
  int pid = 0;
  // The asked-for limits the host's cgroups cannot enforce, left out of the
  // spec (lifecycle/enforceable.h), one line each.
  std::vector<std::string> droppedLimits;
  // What StopContainer and StopPodSandbox send first: the config's, else
  // the image's StopSignal, else SIGTERM (resolved at CreateContainer).
  int stopSignal = SIGTERM;
  // The identity the container's process starts with (ContainerStatus.user):
  // groups hold the primary gid first, then the supplemental ones.
  struct User {
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> groups;
    bool operator==(const User&) const = default;
  } user;
  bool operator==(const Container&) const = default;
};

std::string containerName(const ContainerConfig& c, const std::string& podName, const std::string& podNs,
                          const std::string& podUid);
std::string toJson(const Container& c);
Result<Container> containerFromJson(const std::string& json);
const char* stateName(ContainerState s);

}  // namespace crix::lifecycle
