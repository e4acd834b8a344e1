// crixctl against the real crixd.
#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "sys/process.h"

namespace crix::test {
namespace {

TEST_F(DaemonTest, CrixctlVersionAndInfo) {
  auto d = startDaemon();
  auto version = sys::runCommand({CRIXCTL_PATH, "--endpoint", "unix://" + d->socket(), "version"});
  ASSERT_TRUE(version);
  EXPECT_EQ(version->exitCode, 0) << version->err;
  EXPECT_NE(version->out.find("RuntimeName:  crix"), std::string::npos) << version->out;
  EXPECT_NE(version->out.find("RuntimeApiVersion:  v1"), std::string::npos) << version->out;

  auto info = sys::runCommand({CRIXCTL_PATH, "-r", d->socket(), "info"});
  ASSERT_TRUE(info);
  EXPECT_EQ(info->exitCode, 0) << info->err;
  auto doc = nlohmann::json::parse(info->out);
  ASSERT_EQ(doc["status"]["conditions"].size(), 3u);
  EXPECT_EQ(doc["status"]["conditions"][0]["type"], "RuntimeReady");
  EXPECT_EQ(doc["status"]["conditions"][2]["type"], "CheckpointRestoreReady");
  EXPECT_EQ(doc["info"]["config"]["listen"], d->socket());
}

TEST_F(DaemonTest, CrixctlReportsAnUnreachableEndpoint) {
  auto r = sys::runCommand({CRIXCTL_PATH, "-t", "1", "-r", tmp_ / "nothing.sock", "version"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exitCode, 1);
  EXPECT_NE(r->err.find("crixctl: version:"), std::string::npos) << r->err;
}

}  // namespace
}  // namespace crix::test
