#include "cgroups/cleanup.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_dir.h"

namespace crix::cgroups {
namespace {

// destroyCgroup SIGKILLs what a cgroup holds: anything but a container's
// own leaf must be refused before a single process is looked at.
TEST(DestroyCgroup, RefusesAnythingButAContainerLeaf) {
  test::TempDir root;
  std::filesystem::create_directories(root / "memory/crix");
  for (const char* path : {"", "/", "/crix", "crix-abc", "/crix/crix-", "/crix/crix-a/..", "/crix/../crix-a/..",
                           "/kubepods/pod1", "/crix/crix-abc/../.."}) {
    auto r = destroyCgroup(path, root.path());
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << path;
  }
  EXPECT_TRUE(std::filesystem::exists(root / "memory/crix"));
}

TEST(DestroyCgroup, AbsentIsFine) {
  test::TempDir root;
  std::filesystem::create_directories(root / "memory/crix");
  auto r = destroyCgroup("/crix/crix-0123", root.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(*r);
}

TEST(DestroyCgroup, RemovesAnEmptyLeafInEveryHierarchy) {
  test::TempDir root;
  for (const char* h : {"memory", "pids"})
    std::filesystem::create_directories(root / (std::string(h) + "/crix/crix-0123"));
  auto r = destroyCgroup("/crix/crix-0123", root.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(*r);
  EXPECT_FALSE(std::filesystem::exists(root / "memory/crix/crix-0123"));
  EXPECT_FALSE(std::filesystem::exists(root / "pids/crix/crix-0123"));
  EXPECT_TRUE(std::filesystem::exists(root / "pids/crix"));
}

}  // namespace
}  // namespace crix::cgroups
