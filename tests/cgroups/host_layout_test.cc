#include "cgroups/host_layout.h"

#include <gtest/gtest.h>

namespace crix::cgroups {
namespace {

TEST(HostLayout, CrunRefusesHybridWithV2Controllers) {
  struct Row {
    HostLayout layout;
    bool refused;
  } rows[] = {
      {{HostMode::Hybrid, "hugetlb"}, true}, {{HostMode::Hybrid, "cpu hugetlb"}, true},
      {{HostMode::Hybrid, ""}, false},  // an empty v2 hierarchy is fine
      {{HostMode::Legacy, ""}, false},       {{HostMode::Unified, "cpu memory pids"}, false},
      {{HostMode::Unknown, ""}, false},
  };
  for (const auto& r : rows) {
    auto why = crunRefusal(r.layout);
    EXPECT_EQ(why.has_value(), r.refused) << hostModeName(r.layout.mode) << " " << r.layout.v2Controllers;
    if (why) {
      EXPECT_NE(why->find("(" + r.layout.v2Controllers + ")"), std::string::npos) << *why;
    }
  }
}

TEST(HostLayout, ReadsThisHost) {
  // Whatever the host is, the answer is one of the three layouts.
  auto layout = readHostLayout();
  EXPECT_NE(layout.mode, HostMode::Unknown);
  EXPECT_EQ(readHostLayout("/nonexistent").mode, HostMode::Unknown);
}

}  // namespace
}  // namespace crix::cgroups
