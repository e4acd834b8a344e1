#include "spec/gvisor_mounts.h"

#include <fnmatch.h>
#include <gtest/gtest.h>

namespace crix::spec {
namespace {

using nlohmann::json;

constexpr const char* kPods = "/var/lib/kubelet/pods";
constexpr const char* kLogDir = "/var/log/pods/default_web_uid1";

// A file system holding exactly `paths`, globbed as glob(3) would.
Glob fakeGlob(std::vector<std::string> paths) {
  return [paths](const std::string& pattern) {
    std::vector<std::string> out;
    for (const auto& p : paths)
      if (::fnmatch(pattern.c_str(), p.c_str(), FNM_PATHNAME) == 0) out.push_back(p);
    return out;
  };
}

json bindMount(const std::string& dst, const std::string& src) {
  return {{"destination", dst}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "rprivate", "rw"}}};
}

json spec(const std::string& type, json annotations, json mounts) {
  annotations[kContainerTypeAnnotation] = type;
  return {{"annotations", annotations}, {"mounts", mounts}};
}

TEST(GvisorMounts, PodUidFromLogDirectory) {
  struct Row {
    std::string dir, want, error;
  } rows[] = {
      {"/var/log/pods/default_web_1234-abcd", "1234-abcd", ""},
      {"/var/log/pods/default_web_1234-abcd/", "1234-abcd", ""},
      {"/var/log/pods/1234-abcd", "1234-abcd", ""},  // the older layout
      {"", "", "the pod has no log directory"},
      {"/var/log/pods/ns_name", "", "names no pod UID"},
      {"/var/log/pods/a_b_c_d", "", "names no pod UID"},
      {"/var/log/pods/ns_name_", "", "names no pod UID"},
      {"/", "", "names no pod UID"},
  };
  for (const auto& r : rows) {
    auto uid = podUidFromLogDirectory(r.dir);
    if (r.error.empty()) {
      ASSERT_TRUE(uid) << r.dir << ": " << uid.error().message();
      EXPECT_EQ(*uid, r.want) << r.dir;
    } else {
      ASSERT_FALSE(uid) << r.dir;
      EXPECT_NE(uid.error().message().find(r.error), std::string::npos) << uid.error().message();
    }
  }
}

TEST(GvisorMounts, ChangeMountTypeDropsBindOptionsUnlessBind) {
  json m = bindMount("/d", "/s");
  changeMountType(m, "bind");
  EXPECT_EQ(m["options"], json({"rbind", "rprivate", "rw"}));
  changeMountType(m, "tmpfs");
  EXPECT_EQ(m["type"], "tmpfs");
  EXPECT_EQ(m["options"], json({"rprivate", "rw"}));
  json bare = {{"destination", "/d"}, {"type", "bind"}};
  changeMountType(bare, "tmpfs");
  EXPECT_EQ(bare, json({{"destination", "/d"}, {"type", "tmpfs"}}));
}

// One row per rule of the sandbox side.
TEST(GvisorMounts, SandboxSpec) {
  std::string emptyDir = std::string(kPods) + "/uid1/volumes/kubernetes.io~empty-dir/cache";
  std::string hostPath = std::string(kPods) + "/uid1/volumes/kubernetes.io~configmap/conf";
  std::string hint = kMountHintPrefix;
  struct Row {
    std::string name;
    json annotations;
    std::vector<std::string> files;
    json wantAnnotations;  // the hint annotations afterwards (log dir and type left out)
    bool wantChanged;
    std::string error;
  } rows[] = {
      {"no hints, nothing to do", {{"other", "x"}}, {}, json::object(), false, ""},
      {"no hints needs no pod UID", json::object(), {}, json::object(), false, ""},
      {"an EmptyDir gets its source and becomes tmpfs",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "cache.type", "bind"}, {hint + "cache.share", "pod"}},
       {emptyDir},
       {{hint + "cache.type", "tmpfs"}, {hint + "cache.share", "pod"}, {hint + "cache.source", emptyDir}},
       true,
       ""},
      {"another volume keeps its type",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "conf.type", "bind"}},
       {hostPath, emptyDir},
       {{hint + "conf.type", "bind"}, {hint + "conf.source", hostPath}},
       true,
       ""},
      {"the older log directory layout",
       {{kSandboxLogDirAnnotation, "/var/log/pods/uid1"}, {hint + "cache.type", "tmpfs"}},
       {emptyDir},
       {{hint + "cache.type", "tmpfs"}, {hint + "cache.source", emptyDir}},
       true,
       ""},
      {"only type hints are looked up",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "cache.share", "pod"}},
       {},
       {{hint + "cache.share", "pod"}},
       false,
       ""},
      {"no pod UID",
       {{hint + "cache.type", "bind"}},
       {emptyDir},
       nullptr,
       false,
       "gVisor mount hints need the pod UID: the pod has no log directory"},
      {"a log directory without a UID",
       {{kSandboxLogDirAnnotation, "/var/log/pods/a_b"}, {hint + "cache.type", "bind"}},
       {emptyDir},
       nullptr,
       false,
       "names no pod UID"},
      {"no matching volume directory",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "cache.type", "bind"}},
       {std::string(kPods) + "/other-uid/volumes/kubernetes.io~empty-dir/cache"},
       nullptr,
       false,
       "want one directory /var/lib/kubelet/pods/uid1/volumes/*/cache, found 0"},
      {"several matching volume directories",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "cache.type", "bind"}},
       {emptyDir, std::string(kPods) + "/uid1/volumes/kubernetes.io~secret/cache"},
       nullptr,
       false,
       "found 2 (/var/lib/kubelet/pods/uid1/volumes/kubernetes.io~empty-dir/cache, "
       "/var/lib/kubelet/pods/uid1/volumes/kubernetes.io~secret/cache)"},
      {"a volume name that is a pattern",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "*.type", "bind"}},
       {emptyDir},
       nullptr,
       false,
       "names a bad volume \"*\""},
      {"a volume name that is a path",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "up/cache.type", "bind"}},
       {emptyDir},
       nullptr,
       false,
       "names a bad volume \"up/cache\""},
      {"a hint key without a field is no hint",
       {{kSandboxLogDirAnnotation, kLogDir}, {hint + "cache", "bind"}, {hint + ".type", "x"}},
       {},
       {{hint + "cache", "bind"}, {hint + ".type", "x"}},
       false,
       ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    json s = spec("sandbox", r.annotations, json::array());
    auto changed = rewriteGvisorMountHints(s, kPods, fakeGlob(r.files));
    if (r.wantAnnotations.is_null()) {
      ASSERT_FALSE(changed);
      EXPECT_EQ(changed.error().code(), Code::InvalidArgument);
      EXPECT_NE(changed.error().message().find(r.error), std::string::npos) << changed.error().message();
      continue;
    }
    ASSERT_TRUE(changed) << changed.error().message();
    EXPECT_EQ(*changed, r.wantChanged);
    json got = s["annotations"];
    got.erase(kContainerTypeAnnotation);
    got.erase(kSandboxLogDirAnnotation);
    got.erase("other");
    EXPECT_EQ(got, r.wantAnnotations);
  }
}

// One row per rule of the container side.
TEST(GvisorMounts, ContainerSpec) {
  std::string hint = kMountHintPrefix;
  std::string emptyDir = std::string(kPods) + "/uid1/volumes/kubernetes.io~empty-dir/cache";
  std::string elsewhere = "/srv/cache";
  struct Row {
    std::string name;
    json annotations;
    json mounts;
    json wantMounts;
    bool wantChanged;
  } rows[] = {
      {"no hints", json::object(), {bindMount("/c", emptyDir)}, {bindMount("/c", emptyDir)}, false},
      {"a memory EmptyDir becomes tmpfs",
       {{hint + "cache.type", "tmpfs"}},
       {bindMount("/c", emptyDir)},
       {{{"destination", "/c"}, {"type", "tmpfs"}, {"source", emptyDir}, {"options", {"rprivate", "rw"}}}},
       true},
      {"a disk EmptyDir stays a bind mount",
       {{hint + "cache.type", "bind"}},
       {bindMount("/c", emptyDir)},
       {bindMount("/c", emptyDir)},
       true},
      {"a mount from outside the pods directory is left alone",
       {{hint + "cache.type", "tmpfs"}},
       {bindMount("/c", elsewhere)},
       {bindMount("/c", elsewhere)},
       false},
      {"any pod UID matches",
       {{hint + "cache.type", "tmpfs"}},
       {bindMount("/c", std::string(kPods) + "/uid2/volumes/x/cache")},
       {{{"destination", "/c"},
         {"type", "tmpfs"},
         {"source", std::string(kPods) + "/uid2/volumes/x/cache"},
         {"options", {"rprivate", "rw"}}}},
       true},
      {"a deeper path does not match",
       {{hint + "cache.type", "tmpfs"}},
       {bindMount("/c", std::string(kPods) + "/uid1/volumes/x/y/cache")},
       {bindMount("/c", std::string(kPods) + "/uid1/volumes/x/y/cache")},
       false},
      {"a bad volume name is skipped",
       {{hint + "*.type", "tmpfs"}},
       {bindMount("/c", emptyDir)},
       {bindMount("/c", emptyDir)},
       false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    json s = spec("container", r.annotations, r.mounts);
    json before = s["annotations"];
    auto changed = rewriteGvisorMountHints(s, kPods, fakeGlob({}));
    ASSERT_TRUE(changed) << changed.error().message();
    EXPECT_EQ(*changed, r.wantChanged);
    EXPECT_EQ(s["mounts"], r.wantMounts);
    EXPECT_EQ(s["annotations"], before);  // containers' hints are not read by runsc
  }
}

TEST(GvisorMounts, SharedMemory) {
  std::string shm = "/run/crix/pods/p1/shm";
  json tmpfsShm = {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid"}}};
  json shmAsTmpfs = {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", shm}, {"options", {"rprivate", "rw"}}};
  std::string key = std::string(kMountHintPrefix) + kDevShmHint;
  json podHints = {{key + ".source", shm}, {key + ".type", "tmpfs"}, {key + ".share", "pod"}, {key + ".options", "rw"}};
  struct Row {
    std::string name, type;
    json mounts, wantMounts, wantHints;
    bool wantChanged;
  } rows[] = {
      {"sandbox: pod-wide hint and a tmpfs mount",
       "sandbox",
       {bindMount("/dev/shm", shm)},
       {shmAsTmpfs},
       podHints,
       true},
      {"container: a tmpfs mount, no hint",
       "container",
       {bindMount("/dev/shm", shm)},
       {shmAsTmpfs},
       json::object(),
       true},
      {"a duplicate tmpfs /dev/shm goes (before)",
       "container",
       {tmpfsShm, bindMount("/dev/shm", shm)},
       {shmAsTmpfs},
       json::object(),
       true},
      {"a duplicate tmpfs /dev/shm goes (after)",
       "sandbox",
       {bindMount("/dev/shm", shm), tmpfsShm},
       {shmAsTmpfs},
       podHints,
       true},
      {"a lone tmpfs /dev/shm stays (host IPC or none shared)",
       "container",
       {tmpfsShm},
       {tmpfsShm},
       json::object(),
       false},
      {"no /dev/shm", "sandbox", {bindMount("/data", shm)}, {bindMount("/data", shm)}, json::object(), false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    json s = spec(r.type, json::object(), r.mounts);
    auto changed = rewriteGvisorMountHints(s, kPods, fakeGlob({}));
    ASSERT_TRUE(changed) << changed.error().message();
    EXPECT_EQ(*changed, r.wantChanged);
    EXPECT_EQ(s["mounts"], r.wantMounts);
    json hints = s["annotations"];
    hints.erase(kContainerTypeAnnotation);
    EXPECT_EQ(hints, r.wantHints);
  }
}

TEST(GvisorMounts, ASpecWithoutContainerTypeIsASandbox) {
  json s = {{"mounts", {bindMount("/dev/shm", "/shm")}}};
  ASSERT_TRUE(rewriteGvisorMountHints(s, kPods, fakeGlob({})));
  EXPECT_EQ(s["annotations"][std::string(kMountHintPrefix) + kDevShmHint + ".share"], "pod");
}

}  // namespace
}  // namespace crix::spec
