#include "lifecycle/enforceable.h"

#include <gtest/gtest.h>

namespace crix::lifecycle {
namespace {

using cgroups::Controllers;
using cgroups::HostMode;

spec::Resources kubeletLimits() {
  spec::Resources r;
  r.cpuShares = 256;
  r.cpuQuota = 50000;
  r.cpuPeriod = 100000;
  r.memoryLimit = 64 << 20;
  r.memorySwap = 64 << 20;
  r.pidsLimit = 100;
  r.cpusetCpus = "0";
  r.hugepageLimits = {{"2MB", 0}, {"1GB", 0}};
  return r;
}

Controllers hybridLikeThisHost() {
  return {HostMode::Hybrid,
          {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"},
          {"1GB", "2MB"},
          true};
}

TEST(Enforceable, EverythingKeptWhereEveryControllerIs) {
  auto r = kubeletLimits();
  auto host = hybridLikeThisHost();
  host.names.insert("hugetlb");
  auto dropped = dropUnenforceable(r, host, true);
  ASSERT_TRUE(dropped) << dropped.error().message();
  EXPECT_TRUE(dropped->empty());
  EXPECT_EQ(r, kubeletLimits());
}

TEST(Enforceable, HugepagesLeftOutWithoutHugetlb) {
  auto r = kubeletLimits();
  auto dropped = dropUnenforceable(r, hybridLikeThisHost(), true);
  ASSERT_TRUE(dropped) << dropped.error().message();
  EXPECT_EQ(*dropped, (std::vector<std::string>{"hugepage limit 1GB: no hugetlb controller",
                                                "hugepage limit 2MB: no hugetlb controller"}));
  auto want = kubeletLimits();
  want.hugepageLimits.clear();
  EXPECT_EQ(r, want);  // the rest as asked
}

TEST(Enforceable, MissingHugetlbRefusedWhenNotTolerated) {
  auto r = kubeletLimits();
  auto dropped = dropUnenforceable(r, hybridLikeThisHost(), false);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().code(), Code::FailedPrecondition);
  EXPECT_NE(dropped.error().message().find("hugetlb"), std::string::npos);
  EXPECT_NE(dropped.error().message().find("tolerate_missing_hugetlb_controller"), std::string::npos);
  // Without huge page limits there is nothing to refuse.
  spec::Resources plain;
  plain.memoryLimit = 1 << 20;
  EXPECT_TRUE(dropUnenforceable(plain, hybridLikeThisHost(), false));
}

TEST(Enforceable, UnknownPageSizeIsInvalid) {
  auto host = hybridLikeThisHost();
  host.names.insert("hugetlb");
  spec::Resources r;
  r.hugepageLimits = {{"16MB", 0}};
  auto dropped = dropUnenforceable(r, host, true);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().code(), Code::InvalidArgument);
  EXPECT_NE(dropped.error().message().find("\"16MB\""), std::string::npos);
  EXPECT_NE(dropped.error().message().find("1GB, 2MB"), std::string::npos);
}

TEST(Enforceable, OneRowPerController) {
  struct Row {
    const char* missing;
    std::vector<std::string> dropped;
  } rows[] = {
      {"cpu", {"cpu shares: no cpu controller", "cpu quota: no cpu controller", "cpu period: no cpu controller"}},
      {"cpuset", {"cpuset cpus: no cpuset controller"}},
      {"memory", {"memory limit: no memory controller", "memory+swap limit: no memory controller"}},
      {"pids", {"pids limit: no pids controller"}},
  };
  for (const auto& row : rows) {
    auto host = hybridLikeThisHost();
    host.names.insert("hugetlb");
    host.names.erase(row.missing);
    auto r = kubeletLimits();
    auto dropped = dropUnenforceable(r, host, true);
    ASSERT_TRUE(dropped) << row.missing;
    EXPECT_EQ(*dropped, row.dropped) << row.missing;
  }
}

TEST(Enforceable, SwapNeedsSwapAccounting) {
  auto host = hybridLikeThisHost();
  host.swap = false;
  spec::Resources r;
  r.memoryLimit = 1 << 20;
  r.memorySwap = 2 << 20;
  auto dropped = dropUnenforceable(r, host, true);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, (std::vector<std::string>{"memory+swap limit: swap accounting is off"}));
  EXPECT_EQ(r.memoryLimit, 1 << 20);
  EXPECT_EQ(r.memorySwap, 0);
}

TEST(Enforceable, UnifiedKeysFollowTheV2Hierarchy) {
  spec::Resources r;
  r.unified = {{"memory.high", "1000000"},
               {"memory.swap.max", "0"},
               {"io.weight", "100"},
               {"cgroup.freeze", "0"},
               {"hugetlb.2MB.max", "0"}};
  Controllers v2{HostMode::Unified, {"cpu", "memory", "hugetlb"}, {"2MB"}, false};
  auto dropped = dropUnenforceable(r, v2, true);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, (std::vector<std::string>{"unified io.weight: the v2 hierarchy does not enable io",
                                                "unified memory.swap.max: swap accounting is off"}));
  EXPECT_EQ(r.unified, (std::map<std::string, std::string>{
                           {"cgroup.freeze", "0"}, {"hugetlb.2MB.max", "0"}, {"memory.high", "1000000"}}));

  // On a v1 or hybrid host the runtime takes no unified key at all.
  spec::Resources v1;
  v1.unified = {{"memory.high", "1"}};
  dropped = dropUnenforceable(v1, hybridLikeThisHost(), true);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, (std::vector<std::string>{"unified memory.high: the runtime manages cgroup v1 here"}));
  EXPECT_TRUE(v1.unified.empty());
}

TEST(Enforceable, UnsetLimitsAreNeverReported) {
  spec::Resources r;
  auto dropped = dropUnenforceable(r, Controllers{}, false);
  ASSERT_TRUE(dropped);
  EXPECT_TRUE(dropped->empty());
}

}  // namespace
}  // namespace crix::lifecycle
