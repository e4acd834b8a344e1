#include "cgroups/hugetlb.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sys/fs.h"
#include "temp_dir.h"

namespace crix::cgroups {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "max\n";
}

TEST(Hugetlb, V1LimitsGoToTheHugetlbHierarchyAndV2ToTheCgroupItself) {
  test::TempDir tmp;
  fs::path root = tmp.path();
  touch(root / "hugetlb/crix/crix-a/hugetlb.2MB.limit_in_bytes");
  touch(root / "hugetlb/crix/crix-a/hugetlb.1GB.limit_in_bytes");
  ASSERT_TRUE(writeHugetlbLimits("/crix/crix-a", HostMode::Hybrid, {{"2MB", 4 << 20}, {"1GB", 0}}, root.string()));
  EXPECT_EQ(*sys::readFile((root / "hugetlb/crix/crix-a/hugetlb.2MB.limit_in_bytes").string()), "4194304");
  EXPECT_EQ(*sys::readFile((root / "hugetlb/crix/crix-a/hugetlb.1GB.limit_in_bytes").string()), "0");

  // The systemd form names the scope's directory.
  touch(root / "kubepods.slice/crix-b.scope/hugetlb.2MB.max");
  ASSERT_TRUE(writeHugetlbLimits("kubepods.slice:crix:b", HostMode::Unified, {{"2MB", 2 << 20}}, root.string()));
  EXPECT_EQ(*sys::readFile((root / "kubepods.slice/crix-b.scope/hugetlb.2MB.max").string()), "2097152");
}

TEST(Hugetlb, AMissingFileIsAnErrorThatNamesIt) {
  test::TempDir tmp;
  auto r = writeHugetlbLimits("/crix/crix-a", HostMode::Legacy, {{"2MB", 1}}, tmp.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("hugetlb.2MB.limit_in_bytes"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace crix::cgroups
