#include "storage/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/layer_stream.h"
#include "storage/tar_builder.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"
#include "temp_dir.h"

namespace crix::storage {
namespace {

namespace fs = std::filesystem;

// Unpacks `tar` (uncompressed) into dir/root and returns the result.
Result<UnpackStats> unpack(const test::TempDir& dir, const std::string& tar, const UnpackOptions& opts = {},
                           int64_t max = 0) {
  std::string blob = dir.write("layer.tar", tar);
  fs::create_directories(dir / "root");
  sys::UniqueFd root(::open((dir / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto stream = LayerStream::open(blob, Compression::None, max);
  if (!stream) return fail(stream.error());
  return unpackLayer(root.get(), **stream, opts);
}

struct stat lstatOf(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

TEST(Unpack, WritesEveryKindOfEntry) {
  test::TempDir dir;
  std::string tar = test::TarBuilder()
                        .dir("etc/")
                        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644)
                        .file("./data/owned", "x", 04750, 1000, 2000)
                        .symlink("data/link", "owned")
                        .symlink("data/abs", "/etc/passwd")
                        .hardlink("data/hard", "data/owned")
                        .fifo("data/fifo")
                        .chardev("dev/null", 1, 3)
                        .finish();
  auto r = unpack(dir, tar);
  ASSERT_TRUE(r) << r.error().message();
  std::string root = dir / "root";
  EXPECT_EQ(*sys::readFile(root + "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  auto owned = lstatOf(root + "/data/owned");
  EXPECT_EQ(owned.st_uid, 1000u);
  EXPECT_EQ(owned.st_gid, 2000u);
  EXPECT_EQ(owned.st_mode & 07777, 04750u);  // set-id bits survive the chown
  EXPECT_EQ(owned.st_mtime, 1000000);
  EXPECT_EQ(fs::read_symlink(root + "/data/link"), "owned");
  EXPECT_EQ(fs::read_symlink(root + "/data/abs"), "/etc/passwd");
  EXPECT_EQ(lstatOf(root + "/data/hard").st_ino, owned.st_ino);
  EXPECT_TRUE(S_ISFIFO(lstatOf(root + "/data/fifo").st_mode));
  auto dev = lstatOf(root + "/dev/null");
  EXPECT_TRUE(S_ISCHR(dev.st_mode));
  EXPECT_EQ(major(dev.st_rdev), 1u);
  EXPECT_EQ(r->entries, 8);
}

TEST(Unpack, MapsWhiteoutsToOverlayForm) {
  test::TempDir dir;
  std::string tar = test::TarBuilder()
                        .dir("data/")
                        .file("data/.wh.removed", "")
                        .dir("data/opaque/")
                        .file("data/opaque/.wh..wh..opq", "")
                        .file("data/opaque/new", "n")
                        .finish();
  ASSERT_TRUE(unpack(dir, tar));
  std::string root = dir / "root";
  auto wh = lstatOf(root + "/data/removed");
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(root + "/data/.wh.removed"));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((root + "/data/opaque").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_TRUE(fs::exists(root + "/data/opaque/new"));
  EXPECT_FALSE(fs::exists(root + "/data/opaque/.wh..wh..opq"));
}

TEST(Unpack, LaterEntriesReplaceEarlierOnes) {
  test::TempDir dir;
  std::string tar = test::TarBuilder().file("a", "one").file("a", "two").symlink("b", "x").file("b", "file").finish();
  ASSERT_TRUE(unpack(dir, tar));
  EXPECT_EQ(*sys::readFile(dir / "root/a"), "two");
  EXPECT_TRUE(S_ISREG(lstatOf(dir / "root/b").st_mode));
}

TEST(Unpack, CreatesMissingParents) {
  test::TempDir dir;
  ASSERT_TRUE(unpack(dir, test::TarBuilder().file("x/y/z", "deep").finish()));
  EXPECT_EQ(*sys::readFile(dir / "root/x/y/z"), "deep");
}

// Each hostile layer is refused, and nothing appears outside the root.
TEST(Unpack, RefusesHostileLayers) {
  struct Row {
    const char* what;
    std::string tar;
    const char* why;
  } rows[] = {
      {"dot-dot", test::TarBuilder().file("../escape", "x").finish(), "contains \"..\""},
      {"nested dot-dot", test::TarBuilder().file("a/../../escape", "x").finish(), "contains \"..\""},
      {"absolute", test::TarBuilder().file("/escape", "x").finish(), "absolute path"},
      {"symlink then write through it",
       test::TarBuilder().symlink("out", "../outside").file("out/escape", "x").finish(), "outside the layer"},
      {"absolute symlink then write", test::TarBuilder().symlink("out", "/").file("out/escape", "x").finish(),
       "outside the layer"},
      {"hard link out", test::TarBuilder().hardlink("h", "../outside/target").finish(), "contains \"..\""},
      {"hard link through a symlink", test::TarBuilder().symlink("s", "/").hardlink("h", "s/etc/hostname").finish(),
       "outside the layer"},
  };
  for (const auto& row : rows) {
    test::TempDir dir;
    fs::create_directories(dir / "outside");
    std::ofstream(dir / "outside/target") << "t";
    auto r = unpack(dir, row.tar);
    ASSERT_FALSE(r) << row.what;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << row.what;
    EXPECT_NE(r.error().message().find(row.why), std::string::npos) << row.what << ": " << r.error().message();
    EXPECT_FALSE(fs::exists(dir / "escape")) << row.what;
    EXPECT_FALSE(fs::exists(dir / "outside/escape")) << row.what;
    EXPECT_FALSE(fs::exists("/escape")) << row.what;
    EXPECT_EQ(fs::hard_link_count(dir / "outside/target"), 1u) << row.what;
  }
}

TEST(Unpack, DeviceNodesCanBeForbidden) {
  test::TempDir dir;
  auto r = unpack(dir, test::TarBuilder().chardev("dev/sda", 8, 0).finish(), {.allowDevices = false});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("device node"), std::string::npos);
  // Whiteouts are devices too, and stay allowed.
  test::TempDir dir2;
  EXPECT_TRUE(unpack(dir2, test::TarBuilder().file(".wh.x", "").finish(), {.allowDevices = false}));
}

TEST(Unpack, SizeCapIsEnforced) {
  test::TempDir dir;
  auto r = unpack(dir, test::TarBuilder().file("big", std::string(4 << 20, 'x')).finish(), {}, 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::ResourceExhausted);
}

TEST(Unpack, GarbageIsRefused) {
  test::TempDir dir;
  auto r = unpack(dir, std::string(2048, 'g'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
}

}  // namespace
}  // namespace crix::storage
