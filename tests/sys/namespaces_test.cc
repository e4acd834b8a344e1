#include "sys/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "sys/unique_fd.h"
#include "temp_dir.h"

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

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(CreateIpcUts, PinsNewNamespacesWithTheHostname) {
  if (::geteuid() != 0) GTEST_SKIP() << "pinning namespaces needs root";
  test::TempDir dir;
  std::string ipc = dir / "ipc", uts = dir / "uts";
  ASSERT_TRUE(createIpcUts(ipc, uts, "pod-host-1"));
  // A pin is the namespace's nsfs file: its inode is the namespace's, not crixd's.
  EXPECT_NE(inodeOf(ipc), 0u);
  EXPECT_NE(inodeOf(ipc), inodeOf("/proc/self/ns/ipc"));
  EXPECT_NE(inodeOf(uts), inodeOf("/proc/self/ns/uts"));
  // The caller's own namespaces are untouched; the pinned UTS one has the pod's name.
  char own[256] = {};
  ::gethostname(own, sizeof own - 1);
  EXPECT_STRNE(own, "pod-host-1");
  std::string seen;
  std::thread([&] {
    UniqueFd fd(::open(uts.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::setns(fd.get(), CLONE_NEWUTS) != 0) return;
    utsname u{};
    ::uname(&u);
    seen = u.nodename;
  }).join();
  EXPECT_EQ(seen, "pod-host-1");
  ASSERT_TRUE(unpinNamespace(ipc));
  ASSERT_TRUE(unpinNamespace(uts));
  EXPECT_EQ(inodeOf(ipc), 0u);
}

TEST(CreateIpcUts, MakesOnlyWhatIsNamedAndRefusesALongHostname) {
  if (::geteuid() != 0) GTEST_SKIP() << "pinning namespaces needs root";
  test::TempDir dir;
  std::string ipc = dir / "ipc", uts = dir / "uts";
  ASSERT_TRUE(createIpcUts(ipc, "", "ignored"));
  EXPECT_NE(inodeOf(ipc), 0u);
  EXPECT_EQ(inodeOf(uts), 0u);
  ASSERT_TRUE(unpinNamespace(ipc));
  auto r = createIpcUts(ipc, uts, std::string(65, 'h'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_EQ(inodeOf(ipc), 0u);  // nothing left behind
  EXPECT_EQ(inodeOf(uts), 0u);
}

}  // namespace
}  // namespace crix::sys
