// The CNI client against stand-in plugins: shell scripts that record what
// they were given (environment and stdin), answer ADD with a result naming
// themselves and fail a command when told to by a file.
#include "network/cni.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sys/fs.h"
#include "temp_dir.h"

namespace crix::network {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One call a stand-in plugin recorded.
struct Call {
  std::string command, plugin;
  std::map<std::string, std::string> env;  // CNI_* only
  json request;                            // what the plugin read on stdin
};

class CniTest : public ::testing::Test {
 protected:
  CniTest() {
    for (const char* d : {"conf", "bin", "calls", "fail"}) fs::create_directories(dir_ / d);
    for (const char* name : {"rec-a", "rec-b"}) plugin(name);
  }

  // A stand-in plugin: records the call as calls/<n>-<command>-<name>.{env,stdin};
  // fails <command> while fail/<command>-<name> exists, with the CNI error
  // JSON on stdout and a line on stderr.
  void plugin(const std::string& name) {
    std::string calls = dir_ / "calls", failDir = dir_ / "fail";
    std::string script =
        "#!/bin/sh\n"
        "n=$(ls " +
        calls +
        " | wc -l)\n"
        "f=" +
        calls + "/$(printf %03d $((n / 2)))-$CNI_COMMAND-" + name +
        "\n"
        "env | grep ^CNI_ > $f.env\n"
        "cat > $f.stdin\n"
        "if [ -e " +
        failDir + "/$CNI_COMMAND-" + name +
        " ]; then\n"
        "  echo '{\"cniVersion\":\"1.0.0\",\"code\":50,\"msg\":\"" +
        name +
        " says no\",\"details\":\"told to\"}'\n"
        "  echo 'stderr noise' >&2\n"
        "  exit 1\n"
        "fi\n"
        "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
        "  echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"" +
        name +
        "\",\"sandbox\":\"/run/netns/t\"}],\"ips\":[{\"address\":\"10.9.0.2/24\",\"interface\":0}]}'\n"
        "fi\n";
    dir_.write("bin/" + name, script);
    ::chmod((dir_ / ("bin/" + name)).c_str(), 0755);
  }

  void conflist(const json& list) { dir_.write("conf/10-test.conflist", list.dump()); }
  static json twoPlugins(const std::string& version) {
    return {
        {"cniVersion", version},
        {"name", "testnet"},
        {"plugins",
         {{{"type", "rec-a"}, {"capabilities", {{"portMappings", true}}}, {"mode", "a-mode"}}, {{"type", "rec-b"}}}}};
  }
  void failOn(const std::string& command, const std::string& plugin) {
    dir_.write("fail/" + command + "-" + plugin, "");
  }
  void succeedAgain() {
    fs::remove_all(dir_ / "fail");
    fs::create_directories(dir_ / "fail");
  }

  CniNetwork network(std::chrono::milliseconds statusCacheFor = std::chrono::milliseconds(0)) {
    return CniNetwork(dir_ / "conf", {dir_ / "bin"}, Paths(dir_.path(), ""), statusCacheFor);
  }
  static Attachment attachment(const std::string& id = "ctr1") {
    Attachment a;
    a.containerId = id;
    a.netnsPath = "/run/netns/t";
    a.args = {{"K8S_POD_NAME", "web"}, {"K8S_POD_NAMESPACE", "default"}};
    a.portMappings = {{"tcp", 80, 8080, ""}};
    return a;
  }

  // The calls recorded so far, in order; then forgets them.
  std::vector<Call> takeCalls() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ / "calls"))
      if (e.path().extension() == ".env") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    std::vector<Call> calls;
    for (const auto& n : names) {
      Call c;
      auto first = n.find('-'), last = n.rfind("-rec-");
      c.command = n.substr(first + 1, last - first - 1);
      c.plugin = n.substr(last + 1);
      std::istringstream env(*sys::readFile(dir_ / ("calls/" + n + ".env")));
      for (std::string line; std::getline(env, line);) {
        auto eq = line.find('=');
        c.env[line.substr(0, eq)] = line.substr(eq + 1);
      }
      c.request = json::parse(*sys::readFile(dir_ / ("calls/" + n + ".stdin")));
      calls.push_back(c);
    }
    fs::remove_all(dir_ / "calls");
    fs::create_directories(dir_ / "calls");
    return calls;
  }

  test::TempDir dir_;
};

TEST_F(CniTest, CheckRunsEveryPluginInOrderWithAddsFinalResultAndAddsVariables) {
  conflist(twoPlugins("1.0.0"));
  auto net = network();
  auto added = net.add(attachment());
  ASSERT_TRUE(added) << added.error().message();
  auto adds = takeCalls();
  ASSERT_EQ(adds.size(), 2u);
  json finalResult = json::parse(added->result);
  EXPECT_EQ(finalResult["interfaces"][0]["name"], "rec-b");

  auto checked = net.check("ctr1");
  ASSERT_TRUE(checked) << checked.error().message();
  auto checks = takeCalls();
  ASSERT_EQ(checks.size(), 2u);
  for (size_t i = 0; i < checks.size(); ++i) {
    SCOPED_TRACE(checks[i].plugin);
    EXPECT_EQ(checks[i].command, "CHECK");
    EXPECT_EQ(checks[i].plugin, adds[i].plugin);
    // The same variables as ADD's, but for the command.
    auto env = checks[i].env, addEnv = adds[i].env;
    EXPECT_EQ(env["CNI_COMMAND"], "CHECK");
    env.erase("CNI_COMMAND"), addEnv.erase("CNI_COMMAND");
    EXPECT_EQ(env, addEnv);
    EXPECT_EQ(env["CNI_CONTAINERID"], "ctr1");
    EXPECT_EQ(env["CNI_NETNS"], "/run/netns/t");
    EXPECT_EQ(env["CNI_IFNAME"], "eth0");
    EXPECT_EQ(env["CNI_ARGS"], "IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default");
    EXPECT_EQ(env["CNI_PATH"], dir_ / "bin");
    // Every plugin gets ADD's final result, not its own.
    EXPECT_EQ(checks[i].request["prevResult"], finalResult);
    EXPECT_EQ(checks[i].request["name"], "testnet");
    EXPECT_EQ(checks[i].request["cniVersion"], "1.0.0");
  }
  EXPECT_EQ(checks[0].request["mode"], "a-mode");
  EXPECT_EQ(checks[0].request["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_FALSE(checks[1].request.contains("runtimeConfig"));
  // ADD's first plugin had no previous result; its second had the first's.
  EXPECT_FALSE(adds[0].request.contains("prevResult"));
  EXPECT_EQ(adds[1].request["prevResult"]["interfaces"][0]["name"], "rec-a");
}

TEST_F(CniTest, CheckUsesTheCachedConfigurationNotTheCurrentOne) {
  conflist(twoPlugins("1.0.0"));
  auto net = network();
  ASSERT_TRUE(net.add(attachment()));
  takeCalls();
  json changed = twoPlugins("1.0.0");
  changed["name"] = "othernet";
  changed["plugins"].erase(1);
  conflist(changed);
  ASSERT_TRUE(net.check("ctr1"));
  auto calls = takeCalls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].request["name"], "testnet");
}

// One row per version gate: whether CHECK runs, and the version it is sent.
TEST_F(CniTest, CheckFollowsTheListsVersionAndDisableCheck) {
  struct Row {
    const char* what;
    json list;
    bool runs;
    const char* version;  // sent to ADD and CHECK
  };
  auto with = [](json list, const char* key, json value) {
    list[key] = value;
    return list;
  };
  std::vector<Row> rows = {
      {"1.0.0", twoPlugins("1.0.0"), true, "1.0.0"},
      {"0.4.0 introduced CHECK", twoPlugins("0.4.0"), true, "0.4.0"},
      {"0.3.1 had no CHECK", twoPlugins("0.3.1"), false, "0.3.1"},
      {"1.1.0", twoPlugins("1.1.0"), true, "1.1.0"},
      {"disableCheck", with(twoPlugins("1.0.0"), "disableCheck", true), false, "1.0.0"},
      {"disableCheck as a string", with(twoPlugins("1.0.0"), "disableCheck", "true"), false, "1.0.0"},
      {"disableCheck false", with(twoPlugins("1.0.0"), "disableCheck", false), true, "1.0.0"},
      {"cniVersions lifts 0.3.1", with(twoPlugins("0.3.1"), "cniVersions", {"0.3.1", "0.4.0"}), true, "0.4.0"},
      {"cniVersions beyond crix", with(twoPlugins("1.0.0"), "cniVersions", {"1.0.0", "9.0.0"}), true, "1.0.0"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.what);
    conflist(row.list);
    auto net = network();
    ASSERT_TRUE(net.add(attachment()));
    EXPECT_EQ(takeCalls()[0].request["cniVersion"], row.version);
    auto checked = net.check("ctr1");
    EXPECT_TRUE(checked) << checked.error().message();
    auto calls = takeCalls();
    EXPECT_EQ(calls.size(), row.runs ? 2u : 0u);
    for (const auto& c : calls) EXPECT_EQ(c.request["cniVersion"], row.version);
    ASSERT_TRUE(net.del("ctr1"));
    takeCalls();
  }
}

TEST_F(CniTest, FailedCheckCarriesThePluginsErrorAndStopsTheChain) {
  conflist(twoPlugins("1.0.0"));
  auto net = network();
  ASSERT_TRUE(net.add(attachment()));
  takeCalls();
  failOn("CHECK", "rec-a");
  auto checked = net.check("ctr1");
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().message(), "network testnet: CNI CHECK rec-a failed (exit 1): rec-a says no: told to");
  EXPECT_EQ(takeCalls().size(), 1u);

  succeedAgain();
  failOn("CHECK", "rec-b");
  checked = net.check("ctr1");
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message().find("rec-b says no"), std::string::npos) << checked.error().message();
  EXPECT_EQ(takeCalls().size(), 2u);
}

TEST_F(CniTest, CheckWithoutAnAttachmentIsNotFound) {
  conflist(twoPlugins("1.0.0"));
  auto net = network();
  auto never = net.check("nothing");
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code(), Code::NotFound);
  ASSERT_TRUE(net.add(attachment()));
  ASSERT_TRUE(net.del("ctr1"));
  takeCalls();
  auto deleted = net.check("ctr1");
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code(), Code::NotFound);
  EXPECT_TRUE(takeCalls().empty());
}

TEST_F(CniTest, StatusBelow110OnlyLooksForThePlugins) {
  conflist(twoPlugins("1.0.0"));
  auto net = network();
  auto ready = net.status();
  EXPECT_TRUE(ready) << ready.error().message();
  EXPECT_TRUE(takeCalls().empty());

  fs::remove(dir_ / "bin/rec-b");
  auto missing = net.status();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "network testnet: CNI plugin \"rec-b\" not found in the plugin directories (" + (dir_ / "bin") + ")");

  fs::remove(dir_ / "conf/10-test.conflist");
  auto none = net.status();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no CNI network configuration in " + (dir_ / "conf"));
}

TEST_F(CniTest, Status110RunsEveryPluginWithoutContainerVariables) {
  conflist(twoPlugins("1.1.0"));
  auto net = network();
  auto ready = net.status();
  ASSERT_TRUE(ready) << ready.error().message();
  auto calls = takeCalls();
  ASSERT_EQ(calls.size(), 2u);
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(calls[i].plugin);
    EXPECT_EQ(calls[i].plugin, i == 0 ? "rec-a" : "rec-b");
    EXPECT_EQ(calls[i].command, "STATUS");
    std::set<std::string> vars;
    for (const auto& [k, v] : calls[i].env) vars.insert(k);
    EXPECT_EQ(vars, (std::set<std::string>{"CNI_COMMAND", "CNI_PATH"}));
    EXPECT_EQ(calls[i].request["name"], "testnet");
    EXPECT_EQ(calls[i].request["cniVersion"], "1.1.0");
    EXPECT_EQ(calls[i].request["type"], calls[i].plugin);
    EXPECT_FALSE(calls[i].request.contains("prevResult"));
    EXPECT_FALSE(calls[i].request.contains("runtimeConfig"));
  }

  failOn("STATUS", "rec-b");
  auto down = net.status();
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().message(), "network testnet: CNI STATUS rec-b failed (exit 1): rec-b says no: told to");
  takeCalls();
  succeedAgain();
  EXPECT_TRUE(net.status());
}

TEST_F(CniTest, StatusAnswersFromItsCacheUntilItExpiresOrTheConfigChanges) {
  conflist(twoPlugins("1.1.0"));
  failOn("STATUS", "rec-a");
  auto net = network(std::chrono::hours(1));
  EXPECT_FALSE(net.status());
  EXPECT_EQ(takeCalls().size(), 1u);
  succeedAgain();
  EXPECT_FALSE(net.status());  // cached
  EXPECT_TRUE(takeCalls().empty());
  json changed = twoPlugins("1.1.0");
  changed["plugins"][1]["extra"] = 1;
  conflist(changed);
  EXPECT_TRUE(net.status());
  EXPECT_EQ(takeCalls().size(), 2u);
}

TEST(CniVersion, ComparesSemanticVersions) {
  struct Row {
    const char *version, *min;
    bool atLeast;
  };
  for (const auto& r : std::vector<Row>{{"1.0.0", "0.4.0", true},
                                        {"0.4.0", "0.4.0", true},
                                        {"0.3.1", "0.4.0", false},
                                        {"1.1.0", "1.1.0", true},
                                        {"1.0.0", "1.1.0", false},
                                        {"1.10.0", "1.9.0", true},
                                        {"2.0", "1.1.0", true},
                                        {"1", "1.0.0", true},
                                        {"", "0.4.0", false},
                                        {"1.0.0-rc1", "0.4.0", false},
                                        {"1.0.0.0", "0.4.0", false},
                                        {"x.y.z", "0.1.0", false}}) {
    EXPECT_EQ(cniVersionAtLeast(r.version, r.min), r.atLeast) << r.version << " >= " << r.min;
  }
}

}  // namespace
}  // namespace crix::network
