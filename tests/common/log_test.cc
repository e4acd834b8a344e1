#include "common/log.h"

#include <gtest/gtest.h>

namespace crix::log {
namespace {

TEST(Log, FormatsLogfmt) {
  EXPECT_EQ(format("serving", {{"socket", "/run/crix/crix.sock"}, {"pods", 3}}),
            "msg=serving socket=/run/crix/crix.sock pods=3");
}

TEST(Log, QuotesValuesThatNeedIt) {
  EXPECT_EQ(format("bad config", {{"error", "a \"b\" c"}, {"empty", ""}, {"eq", "a=b"}}),
            R"(msg="bad config" error="a \"b\" c" empty="" eq="a=b")");
  EXPECT_EQ(format("x", {{"nl", "one\ntwo"}}), R"(msg=x nl="one\ntwo")");
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(*parseLevel("debug"), Level::Debug);
  EXPECT_EQ(*parseLevel("warning"), Level::Warn);
  EXPECT_FALSE(parseLevel("loud"));
}

TEST(Log, LevelFilters) {
  setLevel(Level::Warn);
  EXPECT_FALSE(enabled(Level::Info));
  EXPECT_TRUE(enabled(Level::Error));
  setLevel(Level::Info);
  EXPECT_TRUE(enabled(Level::Info));
}

}  // namespace
}  // namespace crix::log
