#include "storage/copy_up.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "sys/fs.h"
#include "temp_dir.h"

namespace crix::storage {
namespace {

namespace fs = std::filesystem;

struct stat statOf(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

// Files, a subdirectory, symlinks (relative and absolute: copied, never
// followed), a fifo and a device node (left out), each with its owner, mode
// and time.
TEST(CopyUp, CopiesTheImagesTreeWithOwnersModesAndTimes) {
  test::TempDir tmp;
  std::string root = tmp / "rootfs", vol = tmp / "vol";
  ASSERT_TRUE(sys::mkdirAll(root + "/data/sub", 0755));
  ASSERT_TRUE(sys::mkdirAll(vol, 0755));
  tmp.write("rootfs/data/a", "a\n");
  tmp.write("rootfs/data/sub/b", std::string(100000, 'b'));
  ASSERT_EQ(::chown((root + "/data/a").c_str(), 1000, 2000), 0);
  ASSERT_EQ(::chmod((root + "/data/a").c_str(), 04750), 0);
  ASSERT_EQ(::chown((root + "/data").c_str(), 33, 33), 0);
  ASSERT_EQ(::chmod((root + "/data").c_str(), 0710), 0);
  ASSERT_EQ(::symlink("sub/b", (root + "/data/rel").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/shadow", (root + "/data/abs").c_str()), 0);
  ASSERT_EQ(::lchown((root + "/data/abs").c_str(), 7, 7), 0);
  ASSERT_EQ(::mkfifo((root + "/data/fifo").c_str(), 0640), 0);
  ASSERT_EQ(::mknod((root + "/data/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  struct timespec old[2] = {{1'000'000, 0}, {1'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (root + "/data/sub/b").c_str(), old, 0), 0);

  auto copied = copyUp(root, "/data", vol);
  ASSERT_TRUE(copied) << copied.error().message();

  EXPECT_EQ(sys::readFile(vol + "/a").value_or(""), "a\n");
  EXPECT_EQ(sys::readFile(vol + "/sub/b").value_or("").size(), 100000u);
  auto a = statOf(vol + "/a");
  EXPECT_EQ(a.st_uid, 1000u);
  EXPECT_EQ(a.st_gid, 2000u);
  EXPECT_EQ(a.st_mode & 07777, 04750u) << "set-id bits survive the chown";
  auto dir = statOf(vol);
  EXPECT_EQ(dir.st_uid, 33u);
  EXPECT_EQ(dir.st_mode & 07777, 0710u);
  EXPECT_EQ(statOf(vol + "/sub/b").st_mtim.tv_sec, 1'000'000);
  EXPECT_EQ(fs::read_symlink(vol + "/rel"), "sub/b");
  EXPECT_EQ(fs::read_symlink(vol + "/abs"), "/etc/shadow") << "copied as a link, not followed";
  EXPECT_EQ(statOf(vol + "/abs").st_uid, 7u);
  EXPECT_TRUE(S_ISFIFO(statOf(vol + "/fifo").st_mode));
  EXPECT_EQ(statOf(vol + "/fifo").st_mode & 07777, 0640u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(vol + "/null"))) << "no device node in a volume";
}

// The volume's path resolves inside the rootfs: an absolute symlink on the
// way means the rootfs's own directory, never the host's.
TEST(CopyUp, AnAbsoluteSymlinkInThePathStaysInsideTheRootfs) {
  test::TempDir tmp;
  std::string root = tmp / "rootfs", vol = tmp / "vol";
  ASSERT_TRUE(sys::mkdirAll(root + "/real", 0755));
  ASSERT_TRUE(sys::mkdirAll(vol, 0755));
  tmp.write("rootfs/real/inside", "in the image\n");
  ASSERT_EQ(::symlink("/real", (root + "/data").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", (root + "/hostetc").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../etc", (root + "/dotdot").c_str()), 0);

  ASSERT_TRUE(copyUp(root, "/data", vol));
  EXPECT_EQ(sys::readFile(vol + "/inside").value_or(""), "in the image\n");

  // /etc of the image does not exist: nothing from the host's /etc comes in.
  for (const char* p : {"/hostetc", "/dotdot"}) {
    test::TempDir empty;
    auto r = copyUp(root, p, empty.path());
    ASSERT_TRUE(r) << p << ": " << r.error().message();
    EXPECT_TRUE(fs::is_empty(empty.path())) << p;
  }
  // Nothing at the path, or a file there: an empty volume.
  test::TempDir none;
  tmp.write("rootfs/file", "x");
  EXPECT_TRUE(copyUp(root, "/missing", none.path()));
  EXPECT_TRUE(copyUp(root, "/file", none.path()));
  EXPECT_TRUE(fs::is_empty(none.path()));
}

}  // namespace
}  // namespace crix::storage
