#include "config/config.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace crix::config {
namespace {

using std::chrono::milliseconds;

Error applyError(const std::string& text, const std::string& origin = "/etc/crix/crix.toml") {
  Config cfg;
  auto r = applyToml(cfg, text, origin);
  EXPECT_FALSE(r) << "expected an error for: " << text;
  return r ? Error(Code::Ok, "") : r.error();
}

TEST(Config, DefaultsAreValid) {
  Config cfg;
  EXPECT_TRUE(validate(cfg));
  EXPECT_EQ(cfg.listen, "/run/crix/crix.sock");
  EXPECT_EQ(cfg.databasePath(), "/var/lib/crix/crix.db");
  EXPECT_EQ(cfg.runtimeRoot("runc"), "/run/crix/runtimes/runc");
}

TEST(Config, AppliesEveryKey) {
  Config cfg;
  auto r = applyToml(cfg, R"(
listen = "/tmp/x.sock"
root = "/srv/crix"
state_dir = "/run/x"
log_level = "debug"
shutdown_timeout = "1m30s"
[runtime]
cgroup_driver = "systemd"
conmon = "/opt/conmon"
default_runtime = "kata"
log_size_max = 1048576
tolerate_missing_hugetlb_controller = false
enable_unprivileged_ports = false
enable_unprivileged_icmp = false
cdi_spec_dirs = ["/srv/cdi"]
[runtimes.kata]
path = "/opt/kata-runtime"
root = "/run/kata"
[network]
cni_config_dir = "/etc/cni/alt"
cni_plugin_dirs = ["/opt/a", "/opt/b"]
[image]
pause_image = "localhost:5000/pause:1"
pause_command = "/catatonit"
pinned_images = ["localhost:5000/busybox:1"]
volumes = "ignore"
[streaming]
address = "[::1]:10010"
idle_timeout = "30m"
max_sessions = 8
)",
                     "test");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(validate(cfg));
  EXPECT_EQ(cfg.listen, "/tmp/x.sock");
  EXPECT_EQ(cfg.root, "/srv/crix");
  EXPECT_EQ(cfg.stateDir, "/run/x");
  EXPECT_EQ(cfg.logLevel, "debug");
  EXPECT_EQ(cfg.shutdownTimeout, milliseconds(90000));
  EXPECT_EQ(cfg.cgroupDriver, "systemd");
  EXPECT_EQ(cfg.conmon, "/opt/conmon");
  EXPECT_EQ(cfg.defaultRuntime, "kata");
  ASSERT_EQ(cfg.runtimes.size(), 2u);
  EXPECT_EQ(cfg.runtimes["kata"].path, "/opt/kata-runtime");
  EXPECT_EQ(cfg.runtimeRoot("kata"), "/run/kata");
  EXPECT_EQ(cfg.runtimeRoot("runc"), "/run/x/runtimes/runc");
  EXPECT_EQ(cfg.cniConfigDir, "/etc/cni/alt");
  EXPECT_EQ(cfg.cniPluginDirs, (std::vector<std::string>{"/opt/a", "/opt/b"}));
  EXPECT_EQ(cfg.cdiSpecDirs, (std::vector<std::string>{"/srv/cdi"}));
  EXPECT_EQ(cfg.pauseImage, "localhost:5000/pause:1");
  EXPECT_EQ(cfg.pinnedImages, (std::vector<std::string>{"localhost:5000/busybox:1"}));
  EXPECT_EQ(cfg.pauseCommand, "/catatonit");
  EXPECT_EQ(cfg.logSizeMax, 1048576);
  EXPECT_FALSE(cfg.tolerateMissingHugetlb);
  EXPECT_FALSE(cfg.unprivilegedPorts);
  EXPECT_FALSE(cfg.unprivilegedIcmp);
  EXPECT_EQ(cfg.imageVolumes, "ignore");
  EXPECT_EQ(cfg.streamingAddress, "[::1]:10010");
  EXPECT_EQ(cfg.streamingIdleTimeout, milliseconds(30 * 60 * 1000));
  EXPECT_EQ(cfg.streamingMaxSessions, 8);
}

TEST(Config, BadTomlNamesFileAndLine) {
  auto e = applyError("root = \"/a\"\nlisten = [unclosed\n");
  EXPECT_EQ(e.code(), Code::InvalidArgument);
  EXPECT_TRUE(e.message().starts_with("/etc/crix/crix.toml:2:")) << e.message();
}

TEST(Config, UnknownKeysAreRefused) {
  auto top = applyError("\n\nlisen = \"/x\"\n");
  EXPECT_TRUE(top.message().starts_with("/etc/crix/crix.toml:3:1: unknown key lisen")) << top.message();
  auto nested = applyError("[runtime]\nconmon_path = \"/x\"\n");
  EXPECT_NE(nested.message().find(":2:1: unknown key runtime.conmon_path"), std::string::npos) << nested.message();
  auto handler = applyError("[runtimes.runc]\nbinary = \"/x\"\n");
  EXPECT_NE(handler.message().find("unknown key runtimes.runc.binary"), std::string::npos) << handler.message();
}

TEST(Config, WrongTypesAreRefused) {
  struct Row {
    std::string toml;
    std::string want;
  } rows[] = {
      {"root = 5", ":1:8: root: expected a string, got integer"},
      {"log_level = \"loud\"", "log_level: \"loud\" is not one of debug, info, warn, error"},
      {"root = \"relative/path\"", "root: \"relative/path\" is not an absolute path"},
      {"shutdown_timeout = 10", "shutdown_timeout: expected a duration string"},
      {"shutdown_timeout = \"10 parsecs\"", "bad duration"},
      {"shutdown_timeout = \"1.2.3s\"", ":1:20: shutdown_timeout: bad duration \"1.2.3s\": \"1.2.3\" is not a number"},
      {"runtime = 1", "runtime: expected a table, got integer"},
      {"[runtime]\ncgroup_driver = \"openrc\"",
       ":2:17: runtime.cgroup_driver: \"openrc\" is not one of cgroupfs, systemd"},
      {"[network]\ncni_plugin_dirs = \"/opt/cni/bin\"",
       "network.cni_plugin_dirs: expected an array of strings, got string"},
      {"[network]\ncni_plugin_dirs = [\"/a\", 3]", "expected a string element, got integer"},
      {"[network]\ncni_plugin_dirs = [\"rel\"]", "\"rel\" is not an absolute path"},
      {"[runtimes.runc]\ntype = \"wasm\"", "runtimes.runc.type: \"wasm\" is not one of oci, gvisor"},
      {"[metrics]\nincluded_pod_metrics = [\"cpu\", \"gpu\"]",
       ":2:32: metrics.included_pod_metrics: \"gpu\" is not one of cpu, memory, network, disk, process, misc"},
      {"[runtimes.g]\nruntime_args = \"--x\"", "runtimes.g.runtime_args: expected an array of strings"},
      {"[runtimes.g]\nallowed_annotations = [\"*\"]", "\"*\" is neither a key nor a prefix"},
      {"[runtimes.g]\nallowed_annotations = [\"dev.*.x\"]", "\"dev.*.x\" is neither a key nor a prefix"},
      {"[runtimes.g]\nallowed_annotations = [\"\"]", "\"\" is neither a key nor a prefix"},
      {"[runtimes.g]\nprivileged_without_host_devices = 1", "expected true or false"},
      {"[runtimes.g]\nbase_spec = \"spec.json\"", "runtimes.g.base_spec: \"spec.json\" is not an absolute path"},
      {"[runtime]\nkubelet_pods_dir = \"pods\"", "runtime.kubelet_pods_dir: \"pods\" is not an absolute path"},
      {"[runtimes.x]\npath = \"\"", "runtimes.x.path: must not be empty"},
      {"runtimes = { runc = 1 }", "runtimes.runc: expected a table, got integer"},
  };
  for (const auto& row : rows) {
    auto e = applyError(row.toml);
    EXPECT_EQ(e.code(), Code::InvalidArgument);
    EXPECT_NE(e.message().find(row.want), std::string::npos) << row.toml << " → " << e.message();
  }
}

TEST(Config, AFailedFileChangesNothing) {
  Config cfg;
  auto r = applyToml(cfg, "root = \"/new\"\nlog_level = \"loud\"\n", "f");
  EXPECT_FALSE(r);
  EXPECT_EQ(cfg, Config());
}

TEST(Config, CrossKeyValidation) {
  Config cfg;
  ASSERT_TRUE(applyToml(cfg, "[runtime]\ndefault_runtime = \"crun\"\n", "f"));
  auto r = validate(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "runtime.default_runtime: \"crun\" is not a configured runtime handler (known: runc)");
  ASSERT_TRUE(applyToml(cfg, "[runtimes.crun]\npath = \"crun\"\n", "g"));
  EXPECT_TRUE(validate(cfg));
}

TEST(Config, DropInsApplyInNameOrderAndOverride) {
  test::TempDir dir;
  dir.write("20-b.toml", "log_level = \"error\"\n[runtimes.runc]\npath = \"/usr/sbin/runc\"\n");
  dir.write("10-a.toml", "log_level = \"debug\"\nroot = \"/srv/a\"\n");
  dir.write("30-c.toml.disabled", "log_level = \"warn\"\n");
  dir.write(".hidden.toml", "log_level = \"warn\"\n");
  Config cfg;
  ASSERT_TRUE(applyFile(cfg, dir / "missing.toml", false));
  ASSERT_TRUE(applyDropIns(cfg, dir.path()));
  EXPECT_EQ(cfg.logLevel, "error");
  EXPECT_EQ(cfg.root, "/srv/a");
  EXPECT_EQ(cfg.runtimes["runc"].path, "/usr/sbin/runc");
  EXPECT_EQ(cfg.runtimes["runc"].type, "oci");  // a drop-in changes one field of a handler
}

TEST(Config, MissingFilesAndDirs) {
  test::TempDir dir;
  Config cfg;
  EXPECT_TRUE(applyDropIns(cfg, dir / "nope"));
  auto r = applyFile(cfg, dir / "nope.toml", true);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("nope.toml"), std::string::npos);
}

TEST(Config, ADropInErrorNamesTheDropIn) {
  test::TempDir dir;
  dir.write("10-ok.toml", "log_level = \"debug\"\n");
  dir.write("20-bad.toml", "\nlog_level = 7\n");
  Config cfg;
  auto r = applyDropIns(cfg, dir.path());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with(dir / "20-bad.toml:2:13: log_level")) << r.error().message();
}

TEST(Config, TomlOutputRoundTrips) {
  Config cfg;
  ASSERT_TRUE(applyToml(
      cfg, "shutdown_timeout = \"250ms\"\n[runtimes.kata]\npath = \"/k\"\n[image]\npinned_images = [\"a\"]\n", "f"));
  Config back;
  auto r = applyToml(back, toToml(cfg), "printed");
  ASSERT_TRUE(r) << r.error().message() << "\n" << toToml(cfg);
  // Printing fills in derived runtime roots; everything else is equal.
  back.runtimes["runc"].root = "";
  back.runtimes["kata"].root = "";
  EXPECT_EQ(back, cfg);
}

TEST(Config, RuntimeHandlerTables) {
  Config cfg;
  ASSERT_TRUE(applyToml(cfg, R"(
[runtime]
kubelet_pods_dir = "/srv/kubelet/pods"
[runtimes.gvisor]
path = "/usr/bin/runsc"
runtime_args = ["--platform=ptrace", "--ignore-cgroups"]
allowed_annotations = ["dev.gvisor.*", "io.example.one"]
privileged_without_host_devices = true
monitor_path = "/opt/conmon"
base_spec = "/etc/crix/gvisor.json"
[runtimes.sandboxed]
path = "runsc"
type = "oci"
[runtimes.runc2]
path = "runc"
)",
                        "f"));
  const auto& g = cfg.runtimes["gvisor"];
  EXPECT_EQ(g.type, "gvisor");  // guessed from the binary's name
  EXPECT_EQ(g.runtimeArgs, (std::vector<std::string>{"--platform=ptrace", "--ignore-cgroups"}));
  EXPECT_EQ(g.allowedAnnotations, (std::vector<std::string>{"dev.gvisor.*", "io.example.one"}));
  EXPECT_TRUE(g.privilegedWithoutHostDevices);
  EXPECT_EQ(g.monitorPath, "/opt/conmon");
  EXPECT_EQ(g.baseSpec, "/etc/crix/gvisor.json");
  EXPECT_EQ(cfg.runtimes["sandboxed"].type, "oci");  // an explicit type wins
  EXPECT_EQ(cfg.runtimes["runc2"].type, "oci");
  EXPECT_FALSE(cfg.runtimes["runc2"].privilegedWithoutHostDevices);
  EXPECT_EQ(cfg.kubeletPodsDir, "/srv/kubelet/pods");
  EXPECT_EQ(Config().kubeletPodsDir, "/var/lib/kubelet/pods");

  Config back;
  auto r = applyToml(back, toToml(cfg), "printed");
  ASSERT_TRUE(r) << r.error().message();
  for (auto& [name, h] : back.runtimes) h.root = "";
  EXPECT_EQ(back, cfg);
}

TEST(Config, JsonOutputHasTheSections) {
  std::string json = toJson(Config());
  for (const char* key : {"\"listen\"", "\"runtimes\"", "\"runc\"", "\"cni_config_dir\"", "\"pause_image\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}

TEST(Config, MetricsAddressIsOffByDefaultAndChecked) {
  Config cfg;
  EXPECT_EQ(cfg.metricsAddress, "");
  ASSERT_TRUE(applyToml(cfg, "[metrics]\naddress = \"127.0.0.1:9090\"\n", "f"));
  EXPECT_EQ(cfg.metricsAddress, "127.0.0.1:9090");
  ASSERT_TRUE(applyToml(cfg, "[metrics]\naddress = \"[::1]:9090\"\n", "f"));
  ASSERT_TRUE(applyToml(cfg, "[metrics]\naddress = \"\"\n", "f"));
  EXPECT_EQ(cfg.metricsAddress, "");
  for (const char* bad : {"\"9090\"", "\"127.0.0.1:0\"", "\"127.0.0.1:70000\"", "9090"}) {
    auto r = applyToml(cfg, std::string("[metrics]\naddress = ") + bad + "\n", "f");
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().message().starts_with("f:2:11: metrics.address: ")) << r.error().message();
  }
  auto r = applyToml(cfg, "[metrics]\nport = 9090\n", "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unknown key metrics.port"), std::string::npos);
  Config printed;
  printed.metricsAddress = "127.0.0.1:9090";
  EXPECT_NE(toToml(printed).find("[metrics]\naddress = '127.0.0.1:9090'"), std::string::npos) << toToml(printed);
}

TEST(Config, Durations) {
  EXPECT_EQ(*parseDuration("10s"), milliseconds(10000));
  EXPECT_EQ(*parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*parseDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(*parseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*parseDuration("2h"), milliseconds(7200000));
  for (const char* bad : {"", "s", "10", "10 s", "10d", "-1s"}) EXPECT_FALSE(parseDuration(bad)) << bad;
  // Numbers that are not one number, or too long to count, are errors, never exceptions.
  std::string huge(400, '9');
  for (const std::string& bad : std::vector<std::string>{"1.2.3s", ".s", "1..s", "12abc", "99999999999999999999999h",
                                                         huge + "ms", "1s" + huge + "h"}) {
    auto d = parseDuration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code(), Code::InvalidArgument) << bad;
    EXPECT_TRUE(d.error().message().starts_with("bad duration \"" + bad + "\"")) << d.error().message();
  }
  EXPECT_EQ(*parseDuration(".5s"), milliseconds(500));
  EXPECT_EQ(formatDuration(milliseconds(10000)), "10s");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1500ms");
}

}  // namespace
}  // namespace crix::config
