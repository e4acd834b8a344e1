#include "common/error.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace crix {
namespace {

Result<int> half(int n) {
  if (n % 2) return fail(Code::InvalidArgument, std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> quarter(int n) {
  int h = TRY(half(n));
  return TRY_CTX(half(h), "second half");
}

Result<> check(bool ok) {
  if (!ok) return fail(Code::FailedPrecondition, "not ok");
  return {};
}

Result<int> afterCheck(bool ok) {
  TRY(check(ok));
  return 1;
}

TEST(Error, TryPropagatesValuesAndErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto odd = quarter(3);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code(), Code::InvalidArgument);
  EXPECT_EQ(odd.error().message(), "3 is odd");
}

TEST(Error, TryCtxWrapsTheMessage) {
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "second half: 3 is odd");
}

TEST(Error, TryWorksOnVoidResults) {
  EXPECT_EQ(*afterCheck(true), 1);
  EXPECT_EQ(afterCheck(false).error().code(), Code::FailedPrecondition);
}

TEST(Error, FromErrnoMapsCodes) {
  EXPECT_EQ(Error::fromErrno("open x", ENOENT).code(), Code::NotFound);
  EXPECT_EQ(Error::fromErrno("mkdir x", EEXIST).code(), Code::AlreadyExists);
  EXPECT_EQ(Error::fromErrno("open x", EACCES).code(), Code::PermissionDenied);
  EXPECT_EQ(Error::fromErrno("read x", EIO).code(), Code::Internal);
  auto e = Error::fromErrno("open /x", ENOENT);
  EXPECT_EQ(e.message(), "open /x: No such file or directory");
  EXPECT_EQ(e.errnum(), ENOENT);
}

}  // namespace
}  // namespace crix
