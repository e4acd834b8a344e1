// The lifecycle core under concurrent callers, retries and deadlines,
// against the real crixd, conmon and runc.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration/pod_fixture.h"

namespace crix::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A container that stops at once on SIGTERM.
std::vector<std::string> quickToStop() {
  return {"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"};
}

bool acceptable(grpc::StatusCode code) {
  // What racing callers may legitimately hear; UNKNOWN or INTERNAL never.
  return code == grpc::StatusCode::OK || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::FAILED_PRECONDITION || code == grpc::StatusCode::ALREADY_EXISTS;
}

class ConcurrencyTest : public PodFixture {
 protected:
  std::set<std::string> listedIds(const std::string& podId = "") {
    v1::ListContainersRequest req;
    if (!podId.empty()) req.mutable_filter()->set_pod_sandbox_id(podId);
    v1::ListContainersResponse resp;
    EXPECT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), req, &resp).ok());
    std::set<std::string> ids;
    for (const auto& c : resp.containers()) ids.insert(c.id());
    return ids;
  }
  // The container directories crixd keeps on the host: rootfs and bundle
  // (a pod's infra container's are the pod's, not counted).
  std::set<std::string> containerDirs() {
    std::set<std::string> ids;
    v1::ListPodSandboxResponse pods;
    EXPECT_TRUE(d_->runtime()->ListPodSandbox(rpcContext().get(), {}, &pods).ok());
    std::set<std::string> podIds;
    for (const auto& p : pods.items()) podIds.insert(p.id());
    for (const auto* dir : {"/root/containers", "/run/containers"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(tmp_ / ("d" + std::string(dir)), ec))
        if (!podIds.count(e.path().filename().string())) ids.insert(e.path().filename().string());
    }
    return ids;
  }
  // Mounts under the daemon's directories.
  int mountsUnder(const std::string& dir) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    int n = 0;
    while (std::getline(in, line))
      if (line.find(" " + dir + "/") != std::string::npos) ++n;
    return n;
  }
};

TEST_F(ConcurrencyTest, RacingCallersNeverSeeARemovedContainerAgain) {
  constexpr int kNames = 4, kClients = 8;
  const auto kRun = 12s;
  std::mutex mu;
  std::vector<std::string> ids(kNames);
  std::map<std::string, uint64_t> removedAt;  // id → sequence number when its Remove returned
  std::atomic<uint64_t> seq{0};
  std::atomic<int> calls{0};
  std::vector<std::string> failures;
  auto failure = [&](const std::string& what) {
    std::lock_guard lock(mu);
    if (failures.size() < 20) failures.push_back(what);
  };
  int attempt = 0;
  auto createOne = [&](int i) {
    auto c = config("c" + std::to_string(i), quickToStop());
    {
      std::lock_guard lock(mu);
      c.mutable_metadata()->set_attempt(++attempt);
    }
    std::string id;
    auto s = create(c, &id);
    if (!acceptable(s.error_code())) failure("create: " + std::to_string(s.error_code()) + " " + s.error_message());
    if (s.ok()) {
      std::lock_guard lock(mu);
      ids[i] = id;
    }
  };
  for (int i = 0; i < kNames; ++i) createOne(i);

  auto deadline = std::chrono::steady_clock::now() + kRun;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      auto stub = d_->runtime();
      while (std::chrono::steady_clock::now() < deadline) {
        int i = static_cast<int>(rng() % kNames);
        std::string id;
        {
          std::lock_guard lock(mu);
          id = ids[i];
        }
        if (id.empty()) {
          createOne(i);
          continue;
        }
        grpc::Status s;
        switch (rng() % 6) {
          case 0: s = start(id); break;
          case 1: {
            v1::StopContainerRequest req;
            req.set_container_id(id);
            req.set_timeout(static_cast<int64_t>(rng() % 2));
            v1::StopContainerResponse resp;
            s = stub->StopContainer(rpcContext(30000).get(), req, &resp);
            break;
          }
          case 2: {
            v1::RemoveContainerRequest req;
            req.set_container_id(id);
            v1::RemoveContainerResponse resp;
            s = stub->RemoveContainer(rpcContext(30000).get(), req, &resp);
            if (s.ok()) {
              std::lock_guard lock(mu);
              removedAt.emplace(id, ++seq);
              if (ids[i] == id) ids[i].clear();
            }
            break;
          }
          case 3: {
            v1::ContainerStatusRequest req;
            req.set_container_id(id);
            v1::ContainerStatusResponse resp;
            uint64_t before = seq.load();
            s = stub->ContainerStatus(rpcContext().get(), req, &resp);
            std::lock_guard lock(mu);
            if (s.ok() && removedAt.count(id) && removedAt[id] <= before) failure("status of removed " + id);
            break;
          }
          default: {
            uint64_t before = seq.load();
            v1::ListContainersResponse resp;
            s = stub->ListContainers(rpcContext().get(), {}, &resp);
            std::lock_guard lock(mu);
            for (const auto& c : resp.containers())
              if (removedAt.count(c.id()) && removedAt[c.id()] <= before) failure("listed removed " + c.id());
          }
        }
        ++calls;
        if (!acceptable(s.error_code()))
          failure("call on " + id + ": code " + std::to_string(s.error_code()) + ": " + s.error_message());
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
  EXPECT_GT(calls.load(), 100);

  // After a restart, rows and host objects agree both ways.
  auto before = listedIds();
  ASSERT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  auto after = listedIds();
  EXPECT_EQ(after, before);
  std::vector<std::string> strays, missing;
  auto dirs = containerDirs();
  std::set_difference(dirs.begin(), dirs.end(), after.begin(), after.end(), std::back_inserter(strays));
  std::set_difference(after.begin(), after.end(), dirs.begin(), dirs.end(), std::back_inserter(missing));
  EXPECT_TRUE(strays.empty()) << strays.size() << " directories without a container, first " << strays.front();
  EXPECT_TRUE(missing.empty()) << missing.size() << " containers without directories, first " << missing.front();
  for (const auto& [id, _] : removedAt) EXPECT_FALSE(after.count(id)) << id;
}

TEST_F(ConcurrencyTest, CreateContainerDuringStopPodSandboxLeavesNothingRunning) {
  std::atomic<bool> stopped{false};
  std::vector<grpc::StatusCode> codes;
  std::thread creator([&] {
    for (int n = 0; n < 40 && !stopped; ++n) {
      auto s = create(config("late" + std::to_string(n), quickToStop()), nullptr);
      codes.push_back(s.error_code());
    }
  });
  std::this_thread::sleep_for(300ms);
  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod_);
  v1::StopPodSandboxResponse resp;
  auto s = d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stop, &resp);
  stopped = true;
  creator.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (auto code : codes)
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::FAILED_PRECONDITION) << code;
  // Every container made before the stop was stopped by it; none came after.
  v1::ListContainersRequest req;
  req.mutable_filter()->set_pod_sandbox_id(pod_);
  v1::ListContainersResponse listed;
  ASSERT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), req, &listed).ok());
  for (const auto& c : listed.containers()) EXPECT_EQ(c.state(), v1::CONTAINER_EXITED) << c.id();
  EXPECT_FALSE(create(config("after", quickToStop()), nullptr).ok());
}

// CreateContainer's rootfs step takes 3 s once (CRIX_FAULT=delay:...).
class SlowCreateTest : public ConcurrencyTest {
 protected:
  void SetUp() override {
    setenv("CRIX_FAULT", "delay:ctr-after-rootfs:3000", 1);
    ConcurrencyTest::SetUp();
    unsetenv("CRIX_FAULT");
  }
  grpc::Status createWithin(const v1::ContainerConfig& c, int ms, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_);
    *req.mutable_config() = c;
    *req.mutable_sandbox_config() = podConfig_;
    v1::CreateContainerResponse resp;
    auto stub = d_->runtime();
    auto s = stub->CreateContainer(rpcContext(ms).get(), req, &resp);
    if (id) *id = resp.container_id();
    return s;
  }
};

TEST_F(SlowCreateTest, ARetryWhileTheFirstCallRunsGetsItsContainer) {
  auto c = config("app", quickToStop());
  std::string first, second;
  grpc::Status firstStatus;
  std::thread slow([&] { firstStatus = createWithin(c, 20000, &first); });
  std::this_thread::sleep_for(500ms);
  auto secondStatus = createWithin(c, 20000, &second);
  slow.join();
  ASSERT_TRUE(firstStatus.ok()) << firstStatus.error_message();
  ASSERT_TRUE(secondStatus.ok()) << secondStatus.error_message();
  EXPECT_EQ(first, second);
  EXPECT_EQ(listedIds(), std::set<std::string>{first});
}

TEST_F(SlowCreateTest, ACallWhoseDeadlinePassesLeavesTheHostAsBefore) {
  int mountsBefore = mountsUnder(tmp_ / "d");
  auto c = config("app", quickToStop());
  auto s = createWithin(c, 1000, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The call goes on until its next step (the delay ends 3 s in), then rolls back.
  auto clean = [&] { return containerDirs().empty() && mountsUnder(tmp_ / "d") == mountsBefore; };
  for (int i = 0; i < 100 && !clean(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(listedIds().empty());
  for (const auto& dir : containerDirs()) ADD_FAILURE() << "left behind: " << dir;
  EXPECT_EQ(mountsUnder(tmp_ / "d"), mountsBefore);
  // The name was given back: the same call now succeeds.
  std::string id;
  auto again = createWithin(c, 20000, &id);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(listedIds(), std::set<std::string>{id});
}

TEST_F(ConcurrencyTest, AStopWhoseClientLeavesSendsNoKill) {
  std::string id;
  ASSERT_TRUE(create(config("stubborn", {"sh", "-c", "trap '' TERM; sleep 3600"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(3);
  v1::StopContainerResponse resp;
  auto s = d_->runtime()->StopContainer(rpcContext(1000).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // Past the stop's own timeout: had crixd gone on, SIGKILL would have come.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(status(id).state(), v1::CONTAINER_RUNNING);
}

}  // namespace
}  // namespace crix::test
