// The systemd driver's names cannot be exercised on this host (no systemd
// as PID 1): its slice and scope naming is checked here, as pure functions,
// and through the statistics and clean-up that read the directories.
#include "cgroups/paths.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cgroups/cleanup.h"
#include "cgroups/stats.h"
#include "temp_dir.h"

namespace crix::cgroups {
namespace {

TEST(SliceDirectory, EachDashOpensALevel) {
  struct Case {
    const char* slice;
    const char* dir;
  } cases[] = {
      {"-.slice", "/"},
      {"system.slice", "/system.slice"},
      {"kubepods.slice", "/kubepods.slice"},
      {"kubepods-besteffort.slice", "/kubepods.slice/kubepods-besteffort.slice"},
      {"kubepods-burstable-pod5f2e_8a1c.slice",
       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f2e_8a1c.slice"},
      {"a-b-c-d.slice", "/a.slice/a-b.slice/a-b-c.slice/a-b-c-d.slice"},
  };
  for (const auto& c : cases) {
    auto dir = sliceDirectory(c.slice);
    ASSERT_TRUE(dir) << c.slice << ": " << dir.error().message();
    EXPECT_EQ(*dir, c.dir) << c.slice;
  }
}

TEST(SliceDirectory, RefusesWhatNamesNoSlice) {
  for (const char* slice : {"", ".slice", "kubepods", "kubepods.scope", "/kubepods.slice", "kube/pods.slice",
                            "-kubepods.slice", "kubepods-.slice", "kube--pods.slice", "--.slice"}) {
    auto dir = sliceDirectory(slice);
    ASSERT_FALSE(dir) << slice << " gave " << *dir;
    EXPECT_EQ(dir.error().code(), Code::InvalidArgument) << slice;
  }
}

TEST(CheckParent, EachDriverWantsItsOwnForm) {
  EXPECT_TRUE(checkParent(Driver::Systemd, "kubepods-besteffort.slice"));
  EXPECT_TRUE(checkParent(Driver::Cgroupfs, "/kubepods/besteffort"));
  for (const char* bad : {"/kubepods/besteffort", "kubepods", "kubepods--x.slice"}) {
    auto r = checkParent(Driver::Systemd, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find("systemd slice"), std::string::npos) << r.error().message();
  }
  for (const char* bad : {"kubepods.slice", "kubepods", "/kubepods/../..", "/a/.."}) {
    auto r = checkParent(Driver::Cgroupfs, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find("absolute cgroupfs path"), std::string::npos) << r.error().message();
  }
}

TEST(RuntimeCgroupsPath, IsInTheDriversForm) {
  EXPECT_EQ(runtimeCgroupsPath(Driver::Cgroupfs, "", "abc"), "/crix/crix-abc");
  EXPECT_EQ(runtimeCgroupsPath(Driver::Cgroupfs, "/kubepods/pod1", "abc"), "/kubepods/pod1/crix-abc");
  EXPECT_EQ(runtimeCgroupsPath(Driver::Systemd, "", "abc"), "system.slice:crix:abc");
  EXPECT_EQ(runtimeCgroupsPath(Driver::Systemd, "kubepods-pod1.slice", "abc"), "kubepods-pod1.slice:crix:abc");
}

TEST(CgroupDirectory, FollowsBothForms) {
  struct Case {
    const char* path;
    const char* dir;
  } cases[] = {
      {"/crix/crix-abc", "/crix/crix-abc"},
      {"system.slice:crix:abc", "/system.slice/crix-abc.scope"},
      {"kubepods-besteffort-pod1.slice:crix:abc",
       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/crix-abc.scope"},
      {"-.slice:crix:abc", "/crix-abc.scope"},
      {":crix:abc", "/system.slice/crix-abc.scope"},
      {"system.slice::abc", "/system.slice/abc.scope"},
  };
  for (const auto& c : cases) {
    auto dir = cgroupDirectory(c.path);
    ASSERT_TRUE(dir) << c.path << ": " << dir.error().message();
    EXPECT_EQ(*dir, c.dir) << c.path;
  }
  for (const char* bad : {"a:b", "a:b:c:d", "kubepods:crix:abc", "system.slice:crix:", "system.slice:crix:a/b"}) {
    auto dir = cgroupDirectory(bad);
    ASSERT_FALSE(dir) << bad << " gave " << *dir;
    EXPECT_EQ(dir.error().code(), Code::InvalidArgument) << bad;
  }
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// What runc's systemd driver makes on a cgroup v1 host, read back by the
// systemd form of the path.
TEST(CgroupDirectory, StatsAndCleanupFindASystemdScope) {
  test::TempDir tmp;
  std::filesystem::path root = tmp.path();
  std::string scope = "kubepods.slice/kubepods-burstable.slice/crix-abc.scope";
  write(root / "cpuacct" / scope / "cpuacct.usage", "1234\n");
  write(root / "memory" / scope / "memory.usage_in_bytes", "4096\n");
  write(root / "memory" / scope / "memory.stat", "total_inactive_file 1024\ntotal_rss 2048\n");
  auto st = readStats("kubepods-burstable.slice:crix:abc", root.string());
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->cpuUsageNs, 1234u);
  EXPECT_EQ(st->memoryUsage, 4096u);
  EXPECT_EQ(st->memoryWorkingSet, 3072u);
  EXPECT_EQ(st->memoryRss, 2048u);

  // An empty scope goes from every hierarchy.
  std::string other = "kubepods.slice/kubepods-burstable.slice/crix-def.scope";
  for (const char* h : {"memory", "pids"}) std::filesystem::create_directories(root / h / other);
  auto gone = destroyCgroup("kubepods-burstable.slice:crix:def", root.string());
  ASSERT_TRUE(gone) << gone.error().message();
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(std::filesystem::exists(root / "memory" / other));
  EXPECT_FALSE(std::filesystem::exists(root / "pids" / other));
}

}  // namespace
}  // namespace crix::cgroups
