#include "streaming/session_flow.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "common/base64.h"
#include "streaming/tokens.h"

namespace crix::streaming {
namespace {

TEST(StatusMessage, V4IsAKubernetesStatus) {
  auto ok = nlohmann::json::parse(statusMessage({.started = true}, true));
  EXPECT_EQ(ok["status"], "Success");
  auto exit3 = nlohmann::json::parse(statusMessage({.started = true, .exitCode = 3}, true));
  EXPECT_EQ(exit3["status"], "Failure");
  EXPECT_EQ(exit3["reason"], "NonZeroExitCode");
  EXPECT_EQ(exit3["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(exit3["details"]["causes"][0]["message"], "3");
  auto broken = nlohmann::json::parse(statusMessage({.error = "container is gone"}, true));
  EXPECT_EQ(broken["status"], "Failure");
  EXPECT_EQ(broken["message"], "container is gone");
  EXPECT_FALSE(broken.contains("details"));
}

TEST(StatusMessage, OlderProtocolsGetText) {
  EXPECT_EQ(statusMessage({.started = true}, false), "");
  EXPECT_NE(statusMessage({.started = true, .exitCode = 2}, false).find("exit status 2"), std::string::npos);
}

TEST(ParseResizes, TakesWholeLinesOnly) {
  std::vector<std::pair<int, int>> got;
  std::string buf = "{\"Width\":80,\"Height\":24}\n{\"Width\":100,";
  parseResizes(buf, [&](uint16_t w, uint16_t h) { got.emplace_back(w, h); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], std::make_pair(80, 24));
  buf += "\"Height\":40}\nnot json\n{\"Width\":0,\"Height\":5}\n";
  parseResizes(buf, [&](uint16_t w, uint16_t h) { got.emplace_back(w, h); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], std::make_pair(100, 40));
  EXPECT_TRUE(buf.empty());
}

TEST(TokenCache, TokensAreSingleUseAndUnguessable) {
  TokenCache cache(std::chrono::minutes(1));
  auto a = cache.put(ExecRequest{.containerId = "c1"});
  auto b = cache.put(AttachRequest{.containerId = "c2"});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 43u);
  EXPECT_NE(*a, *b);
  auto got = cache.take(*a);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::get<ExecRequest>(*got).containerId, "c1");
  EXPECT_FALSE(cache.take(*a));
  EXPECT_FALSE(cache.take("nope"));
}

TEST(TokenCache, TokensExpire) {
  TokenCache cache(std::chrono::milliseconds(20));
  auto a = cache.put(PortForwardRequest{.sandboxId = "p"});
  ASSERT_TRUE(a);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_FALSE(cache.take(*a));
}

TEST(TokenCache, RefusesBeyondCapacityUntilTokensExpire) {
  TokenCache cache(std::chrono::milliseconds(30), 2);
  ASSERT_TRUE(cache.put(ExecRequest{}));
  ASSERT_TRUE(cache.put(ExecRequest{}));
  auto third = cache.put(ExecRequest{});
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), Code::ResourceExhausted);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(cache.put(ExecRequest{}));
}

TEST(Base64, RoundTripsAndRefusesGarbage) {
  EXPECT_EQ(base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64Decode("aGVsbG8"), "hello");
  EXPECT_FALSE(base64Decode("a$=="));
  EXPECT_FALSE(base64Decode("a"));
}

}  // namespace
}  // namespace crix::streaming
