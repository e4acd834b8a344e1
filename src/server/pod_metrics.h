// ListMetricDescriptors and ListPodSandboxMetrics: cAdvisor's container_*
// metric families, which the kubelet serves at /metrics/cadvisor when it
// takes them from the runtime (PodAndContainerStatsFromCRI). The kubelet
// builds one Prometheus descriptor per MetricDescriptor and pairs each
// Metric's label_values with its descriptor's label_keys, so the two must
// have the same length: one table below serves both RPCs.
//
// Every family has the labels pod, namespace, container, id and image (as
// cAdvisor's have under a kubelet), then its own (interface, device,
// failure_type and scope). Per container: id is the container's; per pod
// (the sums over its containers, and the network, which is the pod's):
// container is "" and id is the pod's. Values are the CRI's unsigned
// integers: seconds are whole seconds, timestamps the time of the reading.
#pragma once

#include <string>
#include <vector>

#include "crix/proto/api.pb.h"
#include "lifecycle/container_manager.h"

namespace crix::server {

// The descriptors of the families in `groups` (config::kPodMetricGroups).
void fillMetricDescriptors(const std::vector<std::string>& groups,
                           google::protobuf::RepeatedPtrField<::runtime::v1::MetricDescriptor>* out);

// One pod's metrics of the families in `groups`; `fs` is the filesystem of
// the containers' writable layers (absent: no disk metrics).
void fillPodMetrics(const lifecycle::PodStats& pod, const std::optional<lifecycle::Filesystem>& fs,
                    const std::vector<std::string>& groups, ::runtime::v1::PodSandboxMetrics* out);

}  // namespace crix::server
