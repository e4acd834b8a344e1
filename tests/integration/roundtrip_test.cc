// What is stored comes back whole, over CRI: a container created with every
// field the CRI allows here reports the same status across a crixd restart,
// and an update of its limits is applied and survives one.
#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "integration/pod_fixture.h"

namespace crix::test {
namespace {

using RoundTripTest = PodFixture;

std::string readLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The v1 hierarchy path of `controller` for a process ("" when not found).
std::string cgroupOf(int pid, const std::string& controller) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    std::string list = "," + line.substr(a + 1, b - a - 1) + ",";
    if (list.find("," + controller + ",") != std::string::npos)
      return "/sys/fs/cgroup/" + line.substr(a + 1, b - a - 1) + line.substr(b + 1);
  }
  return "";
}

v1::ContainerConfig everyField(const std::string& volume) {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("full");
  c.mutable_metadata()->set_attempt(2);
  c.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
  c.add_command("sleep");
  c.add_args("3600");
  auto* env = c.add_envs();
  env->set_key("MODE");
  env->set_value("full");
  c.set_working_dir("/tmp");
  auto* m = c.add_mounts();
  m->set_container_path("/data");
  m->set_host_path(volume);
  m->set_readonly(true);
  m->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  auto* d = c.add_devices();
  d->set_container_path("/dev/xzero");
  d->set_host_path("/dev/zero");
  d->set_permissions("rw");
  (*c.mutable_labels())["app"] = "full";
  (*c.mutable_annotations())["note"] = "every field";
  c.set_log_path("full.log");
  auto* r = c.mutable_linux()->mutable_resources();
  r->set_cpu_shares(256);
  r->set_cpu_quota(50000);
  r->set_cpu_period(100000);
  r->set_memory_limit_in_bytes(64 << 20);
  r->set_memory_swap_limit_in_bytes(128 << 20);
  r->set_oom_score_adj(500);
  auto* h = r->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(0);
  (*r->mutable_unified())["memory.high"] = "60000000";
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1000);
  sc->mutable_run_as_group()->set_value(1000);
  sc->add_supplemental_groups(5);
  sc->set_readonly_rootfs(true);
  sc->set_no_new_privs(true);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  sc->mutable_capabilities()->add_drop_capabilities("NET_RAW");
  return c;
}

TEST_F(RoundTripTest, EveryFieldSurvivesARestartAndAnUpdateIsApplied) {
  if (!std::filesystem::exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
    GTEST_SKIP() << "no 2MB huge pages on this host";
  std::filesystem::create_directories(tmp_ / "volume");
  std::string id;
  auto s = create(everyField(tmp_ / "volume"), &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(start(id).ok());

  auto verbose = [&](v1::ContainerStatusResponse* out) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(true);
    return d_->runtime()->ContainerStatus(rpcContext().get(), req, out);
  };
  v1::ContainerStatusResponse before;
  ASSERT_TRUE(verbose(&before).ok());
  EXPECT_EQ(before.status().resources().linux().memory_swap_limit_in_bytes(), 128 << 20);
  EXPECT_EQ(before.status().resources().linux().hugepage_limits_size(), 1);
  EXPECT_EQ(before.status().resources().linux().unified().at("memory.high"), "60000000");

  ASSERT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  v1::ContainerStatusResponse after;
  ASSERT_TRUE(verbose(&after).ok());
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(before.status(), after.status())) << diff;
  EXPECT_EQ(nlohmann::json::parse(before.info().at("info")), nlohmann::json::parse(after.info().at("info")));

  // New limits: applied to the live cgroup, and kept across a restart.
  v1::UpdateContainerResourcesRequest update;
  update.set_container_id(id);
  *update.mutable_linux() = everyField(tmp_ / "volume").linux().resources();
  update.mutable_linux()->set_cpu_quota(20000);
  update.mutable_linux()->set_memory_limit_in_bytes(96 << 20);
  update.mutable_linux()->set_memory_swap_limit_in_bytes(192 << 20);
  v1::UpdateContainerResourcesResponse updated;
  auto u = d_->runtime()->UpdateContainerResources(rpcContext(30000).get(), update, &updated);
  ASSERT_TRUE(u.ok()) << u.error_message();
  int pid = nlohmann::json::parse(after.info().at("info"))["pid"].get<int>();
  ASSERT_GT(pid, 0);
  std::string cpu = cgroupOf(pid, "cpu"), memory = cgroupOf(pid, "memory");
  if (!cpu.empty()) {
    EXPECT_EQ(readLine(cpu + "/cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(readLine(memory + "/memory.limit_in_bytes"), std::to_string(96 << 20));
  }
  ASSERT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  v1::ContainerStatusResponse restarted;
  ASSERT_TRUE(verbose(&restarted).ok());
  EXPECT_EQ(restarted.status().resources().linux().cpu_quota(), 20000);
  EXPECT_EQ(restarted.status().resources().linux().memory_limit_in_bytes(), 96 << 20);
  EXPECT_EQ(restarted.status().resources().linux().memory_swap_limit_in_bytes(), 192 << 20);
  EXPECT_EQ(restarted.status().state(), v1::CONTAINER_RUNNING);
}

// The bytes under a directory, as du counts them (allocated blocks).
int64_t duBytes(const std::string& dir) {
  int64_t sum = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) sum += static_cast<int64_t>(st.st_blocks) * 512;
  }
  return sum;
}

TEST_F(RoundTripTest, ImageFsInfoCountsTheWritableLayersOnly) {
  constexpr int kContainers = 100;
  std::vector<std::string> ids;
  for (int i = 0; i < kContainers; ++i) {
    // Each writes 64 KiB (plus i KiB) into its writable layer, then sleeps.
    auto c = config("w" + std::to_string(i), {"sh", "-c",
                                              "dd if=/dev/zero of=/tmp/fill bs=1024 count=" + std::to_string(64 + i) +
                                                  " 2>/dev/null; trap 'exit 0' TERM; sleep 3600 & wait"});
    std::string id;
    ASSERT_TRUE(create(c, &id).ok());
    ASSERT_TRUE(start(id).ok());
    ids.push_back(id);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the writes are done
  int64_t want = 0;
  for (const auto& id : ids) want += duBytes(d_->root() + "/containers/" + id + "/upper");
  v1::ImageFsInfoResponse fs;
  ASSERT_TRUE(d_->images()->ImageFsInfo(rpcContext().get(), {}, &fs).ok());
  ASSERT_EQ(fs.container_filesystems_size(), 1);
  auto got = static_cast<int64_t>(fs.container_filesystems(0).used_bytes().value());
  // Far below the mounted root filesystems, which hold each image whole.
  EXPECT_GT(want, kContainers * 64 * 1024);
  EXPECT_NEAR(static_cast<double>(got), static_cast<double>(want), want * 0.01) << got << " vs " << want;
  // For the record, not a check: crixd's CPU per call while the measures are fresh.
  auto cpuTicks = [&] {
    std::ifstream in("/proc/" + std::to_string(d_->pid()) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    int64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoll(f);
      if (i == 15) stime = std::stoll(f);
    }
    return utime + stime;
  };
  constexpr int kCalls = 1000;
  auto images = d_->images();
  int64_t before = cpuTicks();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(images->ImageFsInfo(rpcContext().get(), {}, &fs).ok());
  auto wallUs = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  double cpuUs = static_cast<double>(cpuTicks() - before) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK)) / kCalls;
  std::cout << "ImageFsInfo with " << kContainers << " containers: crixd CPU " << cpuUs << " us per call, "
            << wallUs / kCalls << " us round trip\n";
}

}  // namespace
}  // namespace crix::test
