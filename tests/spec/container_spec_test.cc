#include "spec/container_spec.h"

#include <gtest/gtest.h>

#include "spec/user.h"

namespace crix::spec {
namespace {

using V = std::vector<std::string>;

TEST(ContainerSpec, ProcessArgsFollowTheKubeletRules) {
  struct Row {
    V command, args, entrypoint, cmd, want;
  } rows[] = {
      {{}, {}, {"/ep"}, {"c1", "c2"}, {"/ep", "c1", "c2"}},
      {{}, {"a"}, {"/ep"}, {"c1"}, {"/ep", "a"}},
      {{"/cmd"}, {}, {"/ep"}, {"c1"}, {"/cmd"}},
      {{"/cmd"}, {"a"}, {"/ep"}, {"c1"}, {"/cmd", "a"}},
      {{}, {}, {}, {"sh"}, {"sh"}},
      {{}, {}, {}, {}, {}},
  };
  for (const auto& r : rows) EXPECT_EQ(processArgs(r.command, r.args, r.entrypoint, r.cmd), r.want);
}

TEST(ContainerSpec, EnvMergesByName) {
  EXPECT_EQ(mergeEnv({"PATH=/bin", "A=1"}, {"A=2", "B=3"}), (V{"PATH=/bin", "A=2", "B=3"}));
}

TEST(ContainerSpec, CapabilitiesAddAndDrop) {
  V all = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"};
  EXPECT_EQ(adjustCapabilities({"CAP_CHOWN", "CAP_KILL"}, {"sys_admin"}, {"KILL"}, all),
            (V{"CAP_CHOWN", "CAP_SYS_ADMIN"}));
  EXPECT_EQ(adjustCapabilities({"CAP_CHOWN"}, {}, {"ALL"}, all), V{});
  EXPECT_EQ(adjustCapabilities({}, {"ALL"}, {}, all), all);
}

TEST(ContainerSpec, Namespaces) {
  ContainerSpecInput in;
  in.rootfs = "/r";
  in.args = {"sh"};
  in.netnsPath = "/run/netns/x";
  in.pidnsPath = "/proc/7/ns/pid";
  in.hostname = "h";
  auto s = buildContainerSpec(in);
  std::map<std::string, std::string> ns;
  for (const auto& n : s["linux"]["namespaces"]) ns[n["type"]] = n.value("path", "");
  EXPECT_EQ(ns.at("network"), "/run/netns/x");
  EXPECT_EQ(ns.at("pid"), "/proc/7/ns/pid");
  EXPECT_EQ(ns.at("ipc"), "");
  EXPECT_TRUE(ns.count("uts"));
  EXPECT_EQ(s["hostname"], "h");
  in.hostNetwork = in.hostPid = true;
  auto host = buildContainerSpec(in);
  for (const auto& n : host["linux"]["namespaces"]) {
    EXPECT_NE(n["type"], "network");
    EXPECT_NE(n["type"], "pid");
    EXPECT_NE(n["type"], "uts");
  }
  EXPECT_FALSE(host.contains("hostname"));
}

TEST(ContainerSpec, PodUserNamespaceIsJoinedWithItsMappings) {
  ContainerSpecInput in;
  in.rootfs = "/r";
  in.args = {"sh"};
  auto host = buildContainerSpec(in);
  for (const auto& n : host["linux"]["namespaces"]) EXPECT_NE(n["type"], "user");
  EXPECT_FALSE(host["linux"].contains("uidMappings"));

  in.userns.path = "/run/crix/userns/p";
  in.userns.uids = {{0, 300000, 65536}};
  in.userns.gids = {{0, 400000, 1}, {1, 500000, 10}};
  auto s = buildContainerSpec(in);
  bool joined = false;
  for (const auto& n : s["linux"]["namespaces"])
    joined = joined || (n["type"] == "user" && n["path"] == in.userns.path);
  EXPECT_TRUE(joined) << s["linux"]["namespaces"].dump();
  EXPECT_EQ(s["linux"]["uidMappings"],
            nlohmann::json::parse(R"([{"containerID": 0, "hostID": 300000, "size": 65536}])"));
  EXPECT_EQ(s["linux"]["gidMappings"], nlohmann::json::parse(R"([{"containerID": 0, "hostID": 400000, "size": 1},
                                                                {"containerID": 1, "hostID": 500000, "size": 10}])"));
}

TEST(ContainerSpec, PrivilegedAndReadonly) {
  ContainerSpecInput in;
  in.args = {"sh"};
  in.readonlyRootfs = true;
  auto s = buildContainerSpec(in);
  EXPECT_TRUE(s["root"]["readonly"]);
  EXPECT_FALSE(s["linux"]["maskedPaths"].empty());
  EXPECT_EQ(s["linux"]["resources"]["devices"][0]["allow"], false);
  in.privileged = true;
  auto p = buildContainerSpec(in);
  EXPECT_FALSE(p["linux"].contains("maskedPaths"));
  EXPECT_EQ(p["linux"]["resources"]["devices"][0]["allow"], true);
  in.withoutHostDevices = true;  // privileged_without_host_devices
  EXPECT_EQ(buildContainerSpec(in)["linux"]["resources"]["devices"][0]["allow"], false);
  in.withoutHostDevices = false;
  in.privileged = false;
  in.maskedPaths = {"/only/this"};
  EXPECT_EQ(buildContainerSpec(in)["linux"]["maskedPaths"], nlohmann::json({"/only/this"}));
}

TEST(ContainerSpec, MountPropagationSetsTheRootsPropagation) {
  ContainerSpecInput in;
  in.args = {"sh"};
  in.mounts = {{"/a", "/host/a", true, "rslave"}};
  auto s = buildContainerSpec(in);
  EXPECT_EQ(s["linux"]["rootfsPropagation"], "rslave");
  auto m = s["mounts"].back();
  EXPECT_EQ(m["destination"], "/a");
  EXPECT_EQ(m["options"], nlohmann::json({"rbind", "rslave", "ro"}));
  in.mounts.push_back({"/b", "/host/b", false, "rshared"});
  EXPECT_EQ(buildContainerSpec(in)["linux"]["rootfsPropagation"], "rshared");
}

const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\ncrix:x:1000:1000::/home/crix:/bin/sh\nbroken\n";
const char* kGroup = "root:x:0:\ncrix:x:1000:\nextra:x:2000:crix,other\n";

TEST(User, ResolvesInTheContainersOwnFiles) {
  struct Row {
    std::string user;
    uint32_t uid, gid;
    std::vector<uint32_t> groups;
  } rows[] = {
      {"", 0, 0, {}},
      {"crix", 1000, 1000, {2000}},
      {"1000", 1000, 1000, {2000}},
      {"crix:extra", 1000, 2000, {2000}},
      {"crix:3000", 1000, 3000, {2000}},
      {"4242", 4242, 0, {}},
      {"4242:4343", 4242, 4343, {}},
  };
  for (const auto& r : rows) {
    auto u = resolveUser(r.user, kPasswd, kGroup);
    ASSERT_TRUE(u) << r.user << ": " << u.error().message();
    EXPECT_EQ(u->uid, r.uid) << r.user;
    EXPECT_EQ(u->gid, r.gid) << r.user;
    EXPECT_EQ(u->groups, r.groups) << r.user;
  }
  EXPECT_FALSE(resolveUser("nobody-here", kPasswd, kGroup));
  EXPECT_FALSE(resolveUser("crix:nogroup", kPasswd, kGroup));
}

// The image's files are untrusted: an id beyond 32 bits is an error that
// names the file and the field, never an exception or a truncated id.
TEST(User, RefusesIdsBeyond32Bits) {
  const std::string twenty = "99999999999999999999";
  const std::string passwd = "root:x:0:0::/:/bin/sh\nbig:x:" + twenty + ":0::/:/bin/sh\nwide:x:1:" + twenty +
                             "::/:/bin/sh\nedge:x:4294967295:4294967295::/:/bin/sh\ncrix:x:1000:1000::/:/bin/sh\n";
  const std::string group = "root:x:0:\nhuge:x:" + twenty + ":\nover:x:4294967296:crix\n";
  struct Row {
    std::string user, passwd, group, want;
  } rows[] = {
      {"big", passwd, "", "uid \"" + twenty + "\" of user \"big\" in the container's /etc/passwd does not fit 32 bits"},
      {"wide", passwd, "", "gid \"" + twenty + "\" of user \"wide\" in the container's /etc/passwd"},
      {"0:huge", passwd, group, "gid \"" + twenty + "\" of group \"huge\" in the container's /etc/group"},
      {"0:" + twenty, passwd, group, "gid \"" + twenty + "\" of group \"huge\" in the container's /etc/group"},
      {"crix", passwd, group, "gid \"4294967296\" of group \"over\" in the container's /etc/group"},
      {twenty, "", "", "uid \"" + twenty + "\" does not fit 32 bits"},
      {"4294967296", "", "", "uid \"4294967296\" does not fit 32 bits"},
      {"0:4294967296", "", "", "gid \"4294967296\" does not fit 32 bits"},
  };
  for (const auto& r : rows) {
    auto u = resolveUser(r.user, r.passwd, r.group);
    ASSERT_FALSE(u) << r.user;
    EXPECT_EQ(u.error().code(), Code::InvalidArgument) << r.user;
    EXPECT_NE(u.error().message().find(r.want), std::string::npos) << r.user << ": " << u.error().message();
  }
  auto edge = resolveUser("edge", passwd, group);
  ASSERT_TRUE(edge) << edge.error().message();
  EXPECT_EQ(edge->uid, 4294967295u);
  EXPECT_EQ(edge->gid, 4294967295u);
  // Entries the user does not need are not read: root is still root.
  auto root = resolveUser("root", passwd, group);
  ASSERT_TRUE(root) << root.error().message();
  EXPECT_EQ(root->uid, 0u);
}

// Fields that are not numbers at all make an entry unusable, as before:
// the user is then not found, and a non-numeric user is no uid.
TEST(User, SkipsEntriesWithGarbageIds) {
  const std::string passwd = "a:x:12abc:0::/:/bin/sh\nb:x::0::/:/bin/sh\nc:x:-1:0::/:/bin/sh\nd:x:5: 6::/:/bin/sh\n";
  for (std::string user : {"a", "b", "c", "d", "12abc", "-1", " 5", "5 "}) {
    auto u = resolveUser(user, passwd, "");
    ASSERT_FALSE(u) << user;
    EXPECT_EQ(u.error().code(), Code::InvalidArgument) << user;
    EXPECT_NE(u.error().message().find("is not in the container's /etc/passwd"), std::string::npos)
        << u.error().message();
  }
  auto g = resolveUser("0:x", "", "x:x:12abc:\n");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("group \"x\" is not in the container's /etc/group"), std::string::npos)
      << g.error().message();
}

TEST(ContainerSpec, AnUpdateReplacesTheLimitsItSetsAndKeepsTheRest) {
  Resources now;
  now.cpuShares = 512;
  now.cpuQuota = 50000;
  now.cpuPeriod = 100000;
  now.memoryLimit = 64 << 20;
  now.cpusetCpus = "0";
  now.hugepageLimits = {{"2MB", 0}, {"1GB", 0}};
  now.unified = {{"memory.high", "max"}};
  Resources update;
  update.cpuQuota = 20000;
  update.memoryLimit = 96 << 20;
  update.memorySwap = 192 << 20;
  update.cpusetMems = "0";
  update.hugepageLimits = {{"2MB", 4 << 20}};
  update.unified = {{"memory.low", "1024"}};

  Resources merged = mergeResources(now, update);
  EXPECT_EQ(merged.cpuShares, 512);
  EXPECT_EQ(merged.cpuQuota, 20000);
  EXPECT_EQ(merged.cpuPeriod, 100000);
  EXPECT_EQ(merged.memoryLimit, 96 << 20);
  EXPECT_EQ(merged.memorySwap, 192 << 20);
  EXPECT_EQ(merged.cpusetCpus, "0");
  EXPECT_EQ(merged.cpusetMems, "0");
  EXPECT_EQ(merged.hugepageLimits, (std::map<std::string, uint64_t>{{"1GB", 0}, {"2MB", 4 << 20}}));
  EXPECT_EQ(merged.unified, (std::map<std::string, std::string>{{"memory.high", "max"}, {"memory.low", "1024"}}));
  EXPECT_EQ(mergeResources(now, Resources{}), now);
}

}  // namespace
}  // namespace crix::spec
