// CreateContainer over the fakes: the spec it hands the runtime (the pod's
// pinned namespaces joined, the image's user), the undo of a failed step,
// a client that goes away, and a retry that joins the running call.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lifecycle/container_manager.h"
#include "lifecycle/manager_fixture.h"
#include "sys/fs.h"

namespace crix::lifecycle {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char* kImage = "registry.local/app:1";

class ContainerCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f.addImage(kImage, R"({"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/app"],)"
                       R"("Env":["PATH=/bin"],"User":"app"},"rootfs":{"type":"layers","diff_ids":[]}})");
    f.host->setImageFiles("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
                          "root:x:0:\napp:x:1000:\n");
    f.load();
  }

  std::string runPod(NamespaceMode network = NamespaceMode::Pod, NamespaceMode ipc = NamespaceMode::Pod) {
    PodConfig c;
    c.metadata = {"web-" + std::to_string(pods_++), "uid", "default", 0};
    c.network = network;
    c.ipc = ipc;
    auto id = f.pods->run(c);
    EXPECT_TRUE(id) << id.error().message();
    return id.value_or("");
  }
  static ContainerConfig config(const std::string& name = "app") {
    ContainerConfig c;
    c.name = name;
    c.image = kImage;
    return c;
  }
  // The spec written for container `id`.
  json specOf(const std::string& id) {
    auto text = sys::readFile(Paths::bundleSpec(f.cfg.paths().containerBundle(id)));
    return text ? json::parse(*text, nullptr, false) : json();
  }
  static std::string nsPath(const json& spec, const std::string& type) {
    for (const auto& n : spec["linux"]["namespaces"])
      if (n["type"] == type) return n.value("path", "(new)");
    return "(none)";
  }

  test::ManagerFixture f;
  int pods_ = 0;
};

TEST_F(ContainerCreateTest, TheContainerJoinsThePodsPinnedNamespaces) {
  std::string pod = runPod();
  auto id = f.manager->create(pod, config());
  ASSERT_TRUE(id) << id.error().message();
  auto p = f.pods->get(pod);
  ASSERT_TRUE(p);
  json spec = specOf(*id);
  ASSERT_TRUE(spec.is_object());
  EXPECT_EQ(nsPath(spec, "network"), p->netnsPath);
  EXPECT_EQ(nsPath(spec, "ipc"), p->ipcnsPath);
  EXPECT_EQ(nsPath(spec, "uts"), p->utsnsPath);
  EXPECT_EQ(nsPath(spec, "pid"), "(new)");
  EXPECT_EQ(spec["process"]["user"]["uid"], 1000);  // the image's user, from its /etc/passwd
  EXPECT_EQ(spec["process"]["args"], json::array({"/bin/app"}));
  EXPECT_EQ(f.runtime->count("create", *id), 1);
  EXPECT_EQ(f.rows()[*id].state, "created");
  EXPECT_EQ(f.host->rootfsMounts(), (std::set<std::string>{*id}));
}

TEST_F(ContainerCreateTest, AHostIpcPodOnTheHostsNetworkJoinsNothingOfItsOwn) {
  std::string pod = runPod(NamespaceMode::Node, NamespaceMode::Node);
  auto id = f.manager->create(pod, config());
  ASSERT_TRUE(id) << id.error().message();
  json spec = specOf(*id);
  EXPECT_EQ(nsPath(spec, "network"), "(none)");
  EXPECT_EQ(nsPath(spec, "ipc"), "(none)");
  EXPECT_EQ(nsPath(spec, "uts"), "(none)");
}

TEST_F(ContainerCreateTest, ARuntimeThatRefusesLeavesNothingAndTheNameFree) {
  std::string pod = runPod();
  f.runtime->failNext("create", Error(Code::Internal, "runc: exec format error"));
  auto id = f.manager->create(pod, config());
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message().find("exec format error"), std::string::npos) << id.error().message();
  EXPECT_TRUE(f.rows().empty());
  EXPECT_TRUE(f.host->rootfsMounts().empty());
  EXPECT_EQ(f.host->count("removeContainerDir"), 1);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(f.cfg.paths().bundlesDir(), ec));
  EXPECT_TRUE(f.manager->list({}).empty());
  auto again = f.manager->create(pod, config());
  EXPECT_TRUE(again) << again.error().message();
}

TEST_F(ContainerCreateTest, ACallWhoseClientWentStopsAndLeavesNothing) {
  std::string pod = runPod();
  auto id = f.manager->create(pod, config(), [] { return true; });
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), Code::DeadlineExceeded);
  EXPECT_TRUE(f.rows().empty());
  EXPECT_EQ(f.runtime->count("create"), 0);
  EXPECT_TRUE(f.host->rootfsMounts().empty());
  auto again = f.manager->create(pod, config());
  EXPECT_TRUE(again) << again.error().message();
}

TEST_F(ContainerCreateTest, ARetryWhileTheFirstRunsGetsItsContainer) {
  std::string pod = runPod();
  f.runtime->setDelay("create", 300ms);
  auto first = std::async(std::launch::async, [&] { return f.manager->create(pod, config()); });
  // The second arrives while the first waits on the runtime.
  for (int i = 0; i < 5000 && f.runtime->count("create") == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(f.runtime->count("create"), 1);
  auto second = f.manager->create(pod, config());
  auto one = first.get();
  ASSERT_TRUE(one) << one.error().message();
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*one, *second);
  EXPECT_EQ(f.runtime->count("create"), 1);
  EXPECT_EQ(f.manager->list({}).size(), 1u);
}

TEST_F(ContainerCreateTest, ListingByATruncatedPodIdFindsThePodsContainers) {
  std::string pod = runPod();
  std::string other = runPod();
  auto id = f.manager->create(pod, config());
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(f.manager->create(other, config("other")));
  auto listed = f.manager->list({.podId = pod.substr(0, 12)});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, *id);
  EXPECT_EQ(f.manager->list({.podId = pod}).size(), 1u);
  EXPECT_TRUE(f.manager->list({.podId = "ffffffffffff"}).empty());
}

TEST_F(ContainerCreateTest, APodThatIsStoppedTakesNoContainer) {
  std::string pod = runPod();
  ASSERT_TRUE(f.pods->stop(pod));
  auto id = f.manager->create(pod, config());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), Code::FailedPrecondition);
  EXPECT_EQ(f.host->count("mountRootfs"), 0);
}

TEST_F(ContainerCreateTest, StrictSupplementalGroupsLeaveOutTheImagesGroupsOfTheUser) {
  f.host->setImageFiles("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
                        "root:x:0:\napp:x:1000:\nwheel:x:10:app\n");
  std::string pod = runPod();
  auto merge = config("merge");
  merge.supplementalGroups = {1234};
  auto strict = config("strict");
  strict.supplementalGroups = {1234};
  strict.strictSupplementalGroups = true;
  struct Row {
    const ContainerConfig& config;
    std::vector<uint32_t> groups;
  } rows[] = {{merge, {1000, 10, 1234}}, {strict, {1000, 1234}}};
  for (const auto& row : rows) {
    auto id = f.manager->create(pod, row.config);
    ASSERT_TRUE(id) << id.error().message();
    json user = specOf(*id)["process"]["user"];
    EXPECT_EQ(user["uid"], 1000) << row.config.name;
    EXPECT_EQ(user["additionalGids"].get<std::vector<uint32_t>>(), row.groups) << row.config.name;
    // ContainerStatus.user reports the same, also from the stored row.
    auto c = f.manager->get(*id);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->user, (Container::User{1000, 1000, row.groups})) << row.config.name;
  }
}

TEST_F(ContainerCreateTest, AnImageVolumeMountsItsImageReadOnlyAndKeepsItFromRemoval) {
  std::string pod = runPod();
  auto c = config();
  spec::Mount volume;
  volume.containerPath = "/models";
  volume.image = kImage;
  volume.propagation = "rshared";  // asked for, but an image volume never propagates
  c.mounts.push_back(volume);
  auto id = f.manager->create(pod, c);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(f.host->count("mountVolumeImage"), 1);
  json spec = specOf(*id), mount;
  for (const auto& m : spec["mounts"])
    if (m["destination"] == "/models") mount = m;
  ASSERT_TRUE(mount.is_object()) << spec["mounts"].dump();
  EXPECT_EQ(mount["source"], f.cfg.paths().containerVolumeImage(*id, 0));
  EXPECT_EQ(mount["options"], json::array({"rbind", "rprivate", "ro", "nosuid", "nodev"}));
  // Made for the runtime's create only: gone once the container holds it.
  EXPECT_FALSE(std::filesystem::exists(f.cfg.paths().containerVolumeImages(*id)));
  auto image = f.images->find(kImage);
  ASSERT_TRUE(image);
  EXPECT_EQ(f.manager->volumeImagesInUse(),
            (std::map<std::string, std::string>{{image->id, f.manager->get(*id)->name}}));
  auto removal = f.images->remove(kImage);
  ASSERT_FALSE(removal);
  EXPECT_EQ(removal.error().code(), Code::FailedPrecondition);

  // An image that is not there, and a sub path without an image.
  auto missing = config("missing");
  volume.image = "registry.local/absent:1";
  missing.mounts = {volume};
  auto refused = f.manager->create(pod, missing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::NotFound);
  EXPECT_NE(refused.error().message().find("registry.local/absent:1"), std::string::npos);
  auto orphan = config("orphan");
  spec::Mount sub;
  sub.containerPath = "/x";
  sub.hostPath = "/tmp";
  sub.imageSubPath = "etc";
  orphan.mounts = {sub};
  EXPECT_EQ(f.manager->create(pod, orphan).error().code(), Code::InvalidArgument);
  EXPECT_EQ(f.host->count("mountVolumeImage"), 1) << "nothing mounted for the refused ones";
}

TEST_F(ContainerCreateTest, ARecursiveReadOnlyMountNeedsReadonlyPrivateAndAHandlerThatMakesIt) {
  std::string pod = runPod();
  std::string source = f.cfg.root;
  struct Row {
    const char* what;
    spec::Mount mount;
    Code code;
    const char* says;
  } rows[] = {
      {"writable", {"/data", source, false, "rprivate", true}, Code::InvalidArgument, "needs readonly"},
      {"host to container", {"/data", source, true, "rslave", true}, Code::InvalidArgument, "private propagation"},
      {"both way", {"/data", source, true, "rshared", true}, Code::InvalidArgument, "private propagation"},
      // The fakes' handler runs no runtime binary to ask.
      {"a handler that cannot",
       {"/data", source, true, "rprivate", true},
       Code::FailedPrecondition,
       "cannot make recursive read-only mounts"},
  };
  for (const auto& row : rows) {
    auto c = config();
    c.mounts = {row.mount};
    auto id = f.manager->create(pod, c);
    ASSERT_FALSE(id) << row.what;
    EXPECT_EQ(id.error().code(), row.code) << row.what;
    EXPECT_NE(id.error().message().find(row.says), std::string::npos) << row.what << ": " << id.error().message();
  }
  EXPECT_EQ(f.host->count("mountRootfs"), 0);
  EXPECT_TRUE(f.rows().empty());
}

}  // namespace
}  // namespace crix::lifecycle
