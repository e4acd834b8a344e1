#include "sys/namespaces.h"

#include <gtest/gtest.h>

namespace crix::sys {
namespace {

TEST(CheckIdMappings, TakesWhatTheKernelTakes) {
  EXPECT_TRUE(checkIdMappings({{0, 100000, 65536}}, "uids"));
  EXPECT_TRUE(checkIdMappings({{0, 100000, 1}, {1, 200000, 65535}}, "uids"));
  EXPECT_TRUE(checkIdMappings({{0, 0, 0xffffffffu}}, "uids"));  // the host's own map
}

TEST(CheckIdMappings, RefusesEachKindOfBadMap) {
  struct Case {
    std::vector<IdMapping> maps;
    const char* says;
  } cases[] = {
      {{}, "no mappings"},
      {{{0, 100000, 0}}, "length 0"},
      {{{0, 0xffffff00u, 65536}}, "past the last id"},
      {{{0xffffff00u, 0, 65536}}, "past the last id"},
      {{{0, 100000, 10}, {5, 300000, 10}}, "overlap"},   // container ids 5..9 twice
      {{{0, 100000, 10}, {10, 100005, 10}}, "overlap"},  // host ids 100005..100009 twice
      {std::vector<IdMapping>(341, IdMapping{0, 0, 1}), "the kernel takes 340"},
  };
  for (const auto& c : cases) {
    auto r = checkIdMappings(c.maps, "uid mappings");
    ASSERT_FALSE(r) << c.says;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().rfind("uid mappings", 0), 0u) << r.error().message();
  }
}

TEST(HostIdOf, FindsTheRangeHoldingTheId) {
  std::vector<IdMapping> maps = {{0, 100000, 1}, {1000, 500000, 10}};
  uint32_t id = 0;
  ASSERT_TRUE(hostIdOf(maps, 0, &id));
  EXPECT_EQ(id, 100000u);
  ASSERT_TRUE(hostIdOf(maps, 1009, &id));
  EXPECT_EQ(id, 500009u);
  EXPECT_FALSE(hostIdOf(maps, 1, &id));
  EXPECT_FALSE(hostIdOf(maps, 1010, &id));
}

}  // namespace
}  // namespace crix::sys
