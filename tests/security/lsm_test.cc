#include "security/lsm.h"

#include <gtest/gtest.h>

#include "sys/fs.h"
#include "temp_dir.h"

namespace crix::security {
namespace {

TEST(Lsm, ProbesSysfs) {
  test::TempDir dir;
  EXPECT_FALSE(probeHostLsm(dir.path()).apparmor);
  EXPECT_FALSE(probeHostLsm(dir.path()).selinux);
  ASSERT_TRUE(sys::mkdirAll(dir / "module/apparmor/parameters", 0755));
  ASSERT_TRUE(sys::writeFileAtomic(dir / "module/apparmor/parameters/enabled", "N\n"));
  EXPECT_FALSE(probeHostLsm(dir.path()).apparmor);
  ASSERT_TRUE(sys::writeFileAtomic(dir / "module/apparmor/parameters/enabled", "Y\n"));
  EXPECT_TRUE(probeHostLsm(dir.path()).apparmor);
  ASSERT_TRUE(sys::mkdirAll(dir / "fs/selinux", 0755));
  ASSERT_TRUE(sys::writeFileAtomic(dir / "fs/selinux/enforce", "1"));
  EXPECT_TRUE(probeHostLsm(dir.path()).selinux);
}

TEST(Lsm, RunsWhatNeedsNoProfileAndRefusesTheRest) {
  const HostLsm none, both{true, true};
  for (const auto& host : {none, both}) {
    EXPECT_TRUE(checkLsm({}, host, "container app"));
    EXPECT_TRUE(checkLsm({"runtime/default", ""}, host, "container app"));
    EXPECT_TRUE(checkLsm({"unconfined", ":::"}, host, "container app"));
    auto aa = checkLsm({"localhost/nginx", ""}, host, "container app");
    ASSERT_FALSE(aa);
    EXPECT_EQ(aa.error().code(), Code::FailedPrecondition);
    EXPECT_NE(aa.error().message().find("\"nginx\""), std::string::npos) << aa.error().message();
    auto se = checkLsm({"", "system_u:system_r:container_t:s0"}, host, "pod web");
    ASSERT_FALSE(se);
    EXPECT_EQ(se.error().code(), Code::FailedPrecondition);
    EXPECT_EQ(se.error().message().rfind("pod web", 0), 0u) << se.error().message();
  }
  EXPECT_NE(checkLsm({"localhost/x", ""}, none, "c").error().message().find("no AppArmor"), std::string::npos);
  EXPECT_NE(checkLsm({"localhost/x", ""}, both, "c").error().message().find("does not load"), std::string::npos);
  EXPECT_EQ(checkLsm({"bogus", ""}, none, "c").error().code(), Code::InvalidArgument);
}

}  // namespace
}  // namespace crix::security
