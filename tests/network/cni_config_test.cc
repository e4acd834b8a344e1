#include "network/cni_config.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace crix::network {
namespace {

TEST(CniConfig, FindsUsableConfigsInNameOrder) {
  test::TempDir dir;
  dir.write("20-b.conf", R"({"cniVersion":"1.0.0","name":"b","type":"bridge"})");
  dir.write("10-a.conflist", R"({"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"},{"type":"portmap"}]})");
  dir.write("05-broken.conflist", "{not json");
  dir.write("06-noplugins.conflist", R"({"name":"x","plugins":[]})");
  dir.write("README.md", "ignored");
  auto found = findNetworkConfigs(dir.path());
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].name, "a");
  EXPECT_EQ((*found)[1].name, "b");
}

TEST(CniConfig, ExplainsWhyNothingIsUsable) {
  test::TempDir dir;
  auto none = findNetworkConfigs(dir.path());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no CNI network configuration in " + dir.path());
  dir.write("10-x.conf", R"({"cniVersion":"1.0.0","type":"bridge"})");
  dir.write("11-y.conflist", R"({"name":"y","plugins":[{"name":"no type"}]})");
  auto bad = findNetworkConfigs(dir.path());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("10-x.conf: no \"name\""), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("11-y.conflist: a plugin without \"type\""), std::string::npos);
  EXPECT_FALSE(findNetworkConfigs(dir / "missing"));
}

}  // namespace
}  // namespace crix::network
