// Conversions between the model and the CRI that more than one service needs.
#pragma once

#include <string>
#include "crix/proto/api.pb.h"

#include "lifecycle/container.h"
#include "lifecycle/container_manager.h"
#include "lifecycle/sandbox.h"

namespace crix::server {

// CRI → model: AppArmor and SELinux choices as security/lsm.h spells them.
std::string apparmorFromCri(const ::runtime::v1::SecurityProfile& p);
std::string selinuxFromCri(const ::runtime::v1::SELinuxOption& o);

// CRI → model: the limits of a container (CreateContainer,
// UpdateContainerResources) or of a pod (its resources and overhead).
spec::Resources resourcesFromCri(const ::runtime::v1::LinuxContainerResources& r);

void fillPodMetadata(const lifecycle::Sandbox& s, ::runtime::v1::PodSandboxMetadata* out);
void fillPodStatus(const lifecycle::Sandbox& s, ::runtime::v1::PodSandboxStatus* out);
void fillContainerStatus(const lifecycle::Container& c, ::runtime::v1::ContainerStatus* out);
void fillCpuMemory(const cgroups::Stats& s, int64_t timestamp, ::runtime::v1::CpuUsage* cpu,
                   ::runtime::v1::MemoryUsage* memory);
// `mountpoint`: where the writable layers live, for the filesystem id.
void fillStats(const lifecycle::ContainerStats& s, const std::string& mountpoint, ::runtime::v1::ContainerStats* out);

}  // namespace crix::server
