// GetContainerEvents: each event carries the pod's status and the statuses
// of all its containers at the time it is sent, as the kubelet's evented
// PLEG expects.
#include "server/convert.h"
#include "server/runtime_service.h"

namespace crix::server {

namespace v1 = ::runtime::v1;

namespace {

v1::ContainerEventType toCri(lifecycle::EventType t) {
  switch (t) {
    case lifecycle::EventType::Created: return v1::CONTAINER_CREATED_EVENT;
    case lifecycle::EventType::Started: return v1::CONTAINER_STARTED_EVENT;
    case lifecycle::EventType::Stopped: return v1::CONTAINER_STOPPED_EVENT;
    case lifecycle::EventType::Deleted: return v1::CONTAINER_DELETED_EVENT;
  }
  return v1::CONTAINER_CREATED_EVENT;
}

}  // namespace

grpc::Status RuntimeService::GetContainerEvents(grpc::ServerContext* ctx, const v1::GetEventsRequest*,
                                                grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
  if (!events_) return unimplemented("GetContainerEvents");
  auto sub = events_->subscribe();
  struct Unsubscribe {
    lifecycle::EventBus* bus;
    std::shared_ptr<lifecycle::EventBus::Subscription> sub;
    ~Unsubscribe() { bus->unsubscribe(sub); }
  } guard{events_, sub};
  while (!ctx->IsCancelled()) {
    auto e = sub->next(std::chrono::milliseconds(500));
    if (!e) {
      if (sub->dropped())
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "GetContainerEvents: this client fell too far behind; list again and resubscribe");
      continue;
    }
    v1::ContainerEventResponse r;
    r.set_container_id(e->id);
    r.set_container_event_type(toCri(e->type));
    r.set_created_at(e->at);
    if (auto pod = pods_.get(e->podId)) fillPodStatus(*pod, r.mutable_pod_sandbox_status());
    containers_.visit({.podId = e->podId},
                      [&](const lifecycle::Container& c) { fillContainerStatus(c, r.add_containers_statuses()); });
    if (!writer->Write(r)) break;
  }
  return grpc::Status::OK;
}

}  // namespace crix::server
