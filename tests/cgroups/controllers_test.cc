#include "cgroups/controllers.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_dir.h"

namespace crix::cgroups {
namespace {

namespace fs = std::filesystem;

// A fake host: a cgroup root and a huge page directory under a temp dir,
// and the mount table that names them.
struct FakeHost {
  test::TempDir tmp;
  std::string root = tmp / "cgroup", hugepages = tmp / "hugepages";
  FakeHost(std::initializer_list<const char*> pageDirs) {
    fs::create_directories(root);
    fs::create_directories(hugepages);
    for (const char* d : pageDirs) fs::create_directories(hugepages + "/" + d);
  }
  std::string dir(const std::string& name) {
    fs::create_directories(root + "/" + name);
    return root + "/" + name;
  }
  // One mountinfo line.
  std::string v1(int id, const std::string& name, const std::string& options) {
    return std::to_string(id) + " 31 0:" + std::to_string(id) + " / " + dir(name) +
           " rw,nosuid,nodev,noexec,relatime shared:" + std::to_string(id) + " - cgroup cgroup " + options + "\n";
  }
  std::string v2(int id, const std::string& at) {
    return std::to_string(id) + " 31 0:" + std::to_string(id) + " / " + at +
           " rw,nosuid,nodev,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
  }
  std::string tmpfsRoot() { return "31 23 0:28 / " + root + " rw,relatime - tmpfs tmpfs rw,mode=755\n"; }
};

TEST(Controllers, LegacyHostHasItsV1Hierarchies) {
  FakeHost h({"hugepages-2048kB", "hugepages-1048576kB"});
  std::string mi = "22 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw\n" + h.tmpfsRoot() +
                   h.v1(32, "cpu,cpuacct", "rw,cpu,cpuacct") + h.v1(33, "memory", "rw,memory") +
                   h.v1(34, "hugetlb", "rw,hugetlb") + h.v1(35, "pids", "rw,pids") +
                   h.v1(36, "systemd", "rw,xattr,name=systemd");
  h.tmp.write("cgroup/memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  auto c = probeControllers(mi, h.root, h.hugepages);
  EXPECT_EQ(c.mode, HostMode::Legacy);
  EXPECT_EQ(c.names, (std::set<std::string>{"cpu", "cpuacct", "hugetlb", "memory", "pids"}));
  EXPECT_EQ(c.hugepageSizes, (std::set<std::string>{"1GB", "2MB"}));
  EXPECT_TRUE(c.swap);
}

TEST(Controllers, HybridHostWithHugetlbOnlyInV2LacksIt) {
  // This machine's layout: hugetlb sits in the v2 hierarchy, where runc
  // sets no limits.
  FakeHost h({"hugepages-2048kB"});
  std::string mi = h.tmpfsRoot() + h.v1(32, "cpu", "rw,cpu") + h.v1(33, "cpuacct", "rw,cpuacct") +
                   h.v1(34, "memory", "rw,memory") + h.v1(35, "cpuset", "rw,cpuset") + h.v2(41, h.dir("unified"));
  h.tmp.write("cgroup/unified/cgroup.controllers", "hugetlb\n");
  auto c = probeControllers(mi, h.root, h.hugepages);
  EXPECT_EQ(c.mode, HostMode::Hybrid);
  EXPECT_EQ(c.names, (std::set<std::string>{"cpu", "cpuacct", "cpuset", "memory"}));
  EXPECT_FALSE(c.has("hugetlb"));
  EXPECT_FALSE(c.swap);  // no memsw files: swap accounting off
  EXPECT_EQ(c.hugepageSizes, (std::set<std::string>{"2MB"}));
}

TEST(Controllers, UnifiedHostOffersItsRootControllers) {
  FakeHost h({"hugepages-2048kB", "hugepages-64kB"});
  std::string mi = h.v2(30, h.root);
  h.tmp.write("cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  h.dir("system.slice");
  h.tmp.write("cgroup/system.slice/memory.current", "0\n");
  h.tmp.write("cgroup/system.slice/memory.swap.max", "max\n");
  auto c = probeControllers(mi, h.root, h.hugepages);
  EXPECT_EQ(c.mode, HostMode::Unified);
  EXPECT_EQ(c.names, (std::set<std::string>{"cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"}));
  EXPECT_TRUE(c.swap);
  EXPECT_EQ(c.hugepageSizes, (std::set<std::string>{"2MB", "64KB"}));
}

TEST(Controllers, UnifiedHostWithoutSwapAccounting) {
  FakeHost h({});
  h.tmp.write("cgroup/cgroup.controllers", "cpu memory\n");
  h.dir("init.scope");
  h.tmp.write("cgroup/init.scope/memory.current", "0\n");
  auto c = probeControllers(h.v2(30, h.root), h.root, h.hugepages);
  EXPECT_TRUE(c.has("memory"));
  EXPECT_FALSE(c.swap);
  EXPECT_TRUE(c.hugepageSizes.empty());
}

TEST(Controllers, NoCgroupsMounted) {
  FakeHost h({});
  auto c = probeControllers("22 1 8:1 / / rw - ext4 /dev/vda1 rw\ngarbage line\n\n", h.root, h.tmp / "missing");
  EXPECT_EQ(c.mode, HostMode::Unknown);
  EXPECT_TRUE(c.names.empty());
}

TEST(Controllers, EscapedMountPointsAndOtherRootsAreSeparate) {
  FakeHost h({});
  // A v1 hierarchy mounted elsewhere is not the runtime's.
  std::string mi = "40 1 0:40 / /mnt/other\\040cg rw - cgroup cgroup rw,memory\n" + h.v1(32, "cpu", "rw,cpu");
  auto c = probeControllers(mi, h.root, h.hugepages);
  EXPECT_EQ(c.names, (std::set<std::string>{"cpu"}));
}

TEST(Controllers, HugepageDirectoryNames) {
  EXPECT_EQ(hugepageSizeName("hugepages-2048kB"), "2MB");
  EXPECT_EQ(hugepageSizeName("hugepages-1048576kB"), "1GB");
  EXPECT_EQ(hugepageSizeName("hugepages-64kB"), "64KB");
  EXPECT_EQ(hugepageSizeName("hugepages-32768kB"), "32MB");
  EXPECT_EQ(hugepageSizeName("hugepages-kB"), "");
  EXPECT_EQ(hugepageSizeName("hugepages-0kB"), "");
  EXPECT_EQ(hugepageSizeName("hugepages-99999999999999999999999kB"), "");
  EXPECT_EQ(hugepageSizeName("something"), "");
}

TEST(Controllers, ThisHost) {
  auto c = probeHostControllers();
  EXPECT_NE(c.mode, HostMode::Unknown);
  EXPECT_TRUE(c.has("memory"));
}

}  // namespace
}  // namespace crix::cgroups
