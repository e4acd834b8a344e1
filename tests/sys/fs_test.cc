#include "sys/fs.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace crix::sys {
namespace {

TEST(Fs, MkdirAllCreatesParentsAndIsIdempotent) {
  test::TempDir dir;
  ASSERT_TRUE(mkdirAll(dir / "a/b/c", 0700));
  ASSERT_TRUE(mkdirAll(dir / "a/b/c", 0700));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "a/b/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  dir.write("file", "x");
  auto r = mkdirAll(dir / "file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
}

TEST(Fs, AtomicWriteThenRead) {
  test::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "f", "hello", 0600));
  EXPECT_EQ(*readFile(dir / "f"), "hello");
  ASSERT_TRUE(writeFileAtomic(dir / "f", "again"));
  EXPECT_EQ(*readFile(dir / "f"), "again");
  // No temp file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  auto missing = readFile(dir / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
}

TEST(Fs, LookPath) {
  EXPECT_EQ(*lookPath("/bin/sh"), "/bin/sh");
  auto sh = lookPath("sh");
  ASSERT_TRUE(sh);
  EXPECT_TRUE(sh->ends_with("/sh"));
  EXPECT_FALSE(lookPath("crix-no-such-binary"));
  EXPECT_FALSE(lookPath("/etc/passwd"));  // not executable
  EXPECT_FALSE(lookPath(""));
}

TEST(Fs, FileLockIsExclusive) {
  test::TempDir dir;
  auto first = FileLock::acquire(dir / "lock");
  ASSERT_TRUE(first);
  auto second = FileLock::acquire(dir / "lock");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::FailedPrecondition);
  { auto moved = std::move(*first); }
  EXPECT_TRUE(FileLock::acquire(dir / "lock"));
}

}  // namespace
}  // namespace crix::sys
