// GetContainerEvents, UpdateContainerResources and pod stats against the
// real crixd, conmon and runc.
#include <mutex>
#include <thread>

#include "integration/pod_fixture.h"

namespace crix::test {
namespace {

using namespace std::chrono_literals;
using EventsTest = PodFixture;

// Collects events from a GetContainerEvents stream on its own thread.
class EventReader {
 public:
  explicit EventReader(Daemon& d) : stub_(d.runtime()) {
    thread_ = std::thread([this] {
      v1::GetEventsRequest req;
      auto reader = stub_->GetContainerEvents(&ctx_, req);
      v1::ContainerEventResponse e;
      while (reader->Read(&e)) {
        std::lock_guard lock(mu_);
        events_.push_back(e);
      }
    });
  }
  ~EventReader() {
    ctx_.TryCancel();
    thread_.join();
  }
  // The event types seen for `id`, waiting until there are `n` of them.
  std::vector<v1::ContainerEventType> forId(const std::string& id, size_t n) {
    for (int i = 0; i < 300; ++i) {
      auto got = types(id);
      if (got.size() >= n) return got;
      std::this_thread::sleep_for(10ms);
    }
    return types(id);
  }
  v1::ContainerEventResponse last(const std::string& id) {
    std::lock_guard lock(mu_);
    for (auto it = events_.rbegin(); it != events_.rend(); ++it)
      if (it->container_id() == id) return *it;
    return {};
  }

 private:
  std::vector<v1::ContainerEventType> types(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<v1::ContainerEventType> out;
    for (const auto& e : events_)
      if (e.container_id() == id) out.push_back(e.container_event_type());
    return out;
  }

  std::unique_ptr<v1::RuntimeService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<v1::ContainerEventResponse> events_;
};

TEST_F(EventsTest, ContainerEventsArriveInOrderWithoutPolling) {
  EventReader events(*d_);
  std::this_thread::sleep_for(200ms);  // the subscription is in place
  std::string id;
  ASSERT_TRUE(create(config("short", {"sh", "-c", "sleep 0.3"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  // Nobody asks about the container: its exit is seen by the exit monitor.
  auto got = events.forId(id, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], v1::CONTAINER_CREATED_EVENT);
  EXPECT_EQ(got[1], v1::CONTAINER_STARTED_EVENT);
  EXPECT_EQ(got[2], v1::CONTAINER_STOPPED_EVENT);
  auto stopped = events.last(id);
  EXPECT_EQ(stopped.pod_sandbox_status().id(), pod_);
  ASSERT_EQ(stopped.containers_statuses_size(), 1);
  EXPECT_EQ(stopped.containers_statuses(0).state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(stopped.containers_statuses(0).reason(), "Completed");

  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse removed;
  ASSERT_TRUE(d_->runtime()->RemoveContainer(rpcContext(30000).get(), rm, &removed).ok());
  EXPECT_EQ(events.forId(id, 4).back(), v1::CONTAINER_DELETED_EVENT);

  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod_);
  v1::StopPodSandboxResponse stopResp;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stop, &stopResp).ok());
  EXPECT_EQ(events.forId(pod_, 1).back(), v1::CONTAINER_STOPPED_EVENT);
}

TEST_F(EventsTest, UpdateContainerResourcesChangesTheLiveCgroup) {
  std::string id;
  ASSERT_TRUE(create(config("limits", {"sleep", "3600"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  v1::UpdateContainerResourcesRequest up;
  up.set_container_id(id);
  up.mutable_linux()->set_memory_limit_in_bytes(96 << 20);
  up.mutable_linux()->set_cpu_quota(50000);
  up.mutable_linux()->set_cpu_period(100000);
  v1::UpdateContainerResourcesResponse upResp;
  auto s = d_->runtime()->UpdateContainerResources(rpcContext(20000).get(), up, &upResp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ExecSyncRequest ex;
  ex.set_container_id(id);
  for (const char* a : {"sh", "-c",
                        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                        "2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max"})
    ex.add_cmd(a);
  ex.set_timeout(10);
  v1::ExecSyncResponse out;
  ASSERT_TRUE(d_->runtime()->ExecSync(rpcContext(20000).get(), ex, &out).ok());
  EXPECT_NE(out.stdout().find(std::to_string(96 << 20)), std::string::npos) << out.stdout();
  EXPECT_NE(out.stdout().find("50000"), std::string::npos) << out.stdout();

  up.set_container_id("no-such-container");
  EXPECT_EQ(d_->runtime()->UpdateContainerResources(rpcContext().get(), up, &upResp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(EventsTest, PodStatsAddUpContainersAndReadTheNetworkInsideThePod) {
  std::string id;
  ASSERT_TRUE(create(config("busy", {"sh", "-c", "while true; do :; done"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  std::this_thread::sleep_for(300ms);
  v1::PodSandboxStatsRequest req;
  req.set_pod_sandbox_id(pod_);
  v1::PodSandboxStatsResponse resp;
  auto s = d_->runtime()->PodSandboxStats(rpcContext(10000).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const auto& st = resp.stats();
  EXPECT_EQ(st.attributes().id(), pod_);
  EXPECT_EQ(st.attributes().metadata().name(), "pod");
  EXPECT_GT(st.linux().cpu().usage_core_nano_seconds().value(), 0u);
  EXPECT_GT(st.linux().memory().working_set_bytes().value(), 0u);
  ASSERT_EQ(st.linux().containers_size(), 1);
  EXPECT_EQ(st.linux().containers(0).attributes().id(), id);
  // The pod's own interface, not the host's.
  EXPECT_EQ(st.linux().network().default_interface().name(), "eth0");
  for (const auto& i : st.linux().network().interfaces()) EXPECT_NE(i.name(), "crixtest0");

  v1::ListPodSandboxStatsRequest list;
  v1::ListPodSandboxStatsResponse listed;
  ASSERT_TRUE(d_->runtime()->ListPodSandboxStats(rpcContext(10000).get(), list, &listed).ok());
  EXPECT_EQ(listed.stats_size(), 1);
}

}  // namespace
}  // namespace crix::test
