#include "sys/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

#include <gtest/gtest.h>

#include "sys/unique_fd.h"
#include "temp_dir.h"

namespace crix::sys {
namespace {

UniqueFd bindAt(const std::string& path, bool listen) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  if (listen) {
    EXPECT_EQ(::listen(fd.get(), 1), 0);
  }
  return fd;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

TEST(UnixSocket, CreatesParentDirectories) {
  test::TempDir dir;
  ASSERT_TRUE(claimSocketPath(dir / "a/b/crix.sock"));
  EXPECT_TRUE(exists(dir / "a/b"));
}

TEST(UnixSocket, ReplacesAStaleSocket) {
  test::TempDir dir;
  std::string path = dir / "crix.sock";
  bindAt(path, false);  // closed at once: nobody serves it
  ASSERT_TRUE(exists(path));
  ASSERT_TRUE(claimSocketPath(path));
  EXPECT_FALSE(exists(path));
}

TEST(UnixSocket, RefusesALiveSocket) {
  test::TempDir dir;
  std::string path = dir / "crix.sock";
  auto live = bindAt(path, true);
  auto r = claimSocketPath(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
  EXPECT_NE(r.error().message().find("served by another live process"), std::string::npos);
  EXPECT_TRUE(exists(path));
}

TEST(UnixSocket, RefusesToReplaceAFile) {
  test::TempDir dir;
  std::string path = dir.write("crix.sock", "not a socket");
  EXPECT_FALSE(claimSocketPath(path));
  EXPECT_TRUE(exists(path));
}

}  // namespace
}  // namespace crix::sys
