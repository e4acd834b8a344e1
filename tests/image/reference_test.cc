#include "image/reference.h"

#include <gtest/gtest.h>

namespace crix::image {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(Reference, Normalises) {
  struct Row {
    std::string in, out;
  } rows[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
      {"user/app", "docker.io/user/app:latest"},
      {"quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"},
      {"quay.io/etcd", "quay.io/etcd:latest"},
      {"localhost/app", "localhost/app:latest"},
      {"localhost:5000/a/b/c:x_y.z-1", "localhost:5000/a/b/c:x_y.z-1"},
      {"127.0.0.1:5000/crix/busybox:1.35", "127.0.0.1:5000/crix/busybox:1.35"},
      {"[::1]:5000/app:1", "[::1]:5000/app:1"},
      {"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
      {"a.b/c__d/e-f/g.h/i---j", "a.b/c__d/e-f/g.h/i---j:latest"},
      {"busybox@sha256:" + kHex, "docker.io/library/busybox@sha256:" + kHex},
      {"busybox:1@sha256:" + kHex, "docker.io/library/busybox:1@sha256:" + kHex},
  };
  for (const auto& row : rows) {
    auto r = parseReference(row.in);
    ASSERT_TRUE(r) << row.in << ": " << r.error().message();
    EXPECT_EQ(r->string(), row.out) << row.in;
  }
}

TEST(Reference, Parts) {
  auto r = *parseReference("localhost:5000/crix/busybox:1.35@sha256:" + kHex);
  EXPECT_EQ(r.domain, "localhost:5000");
  EXPECT_EQ(r.path, "crix/busybox");
  EXPECT_EQ(r.tag, "1.35");
  EXPECT_EQ(r.digest, "sha256:" + kHex);
  EXPECT_EQ(r.name(), "localhost:5000/crix/busybox");
  EXPECT_EQ(r.tagged(), "localhost:5000/crix/busybox:1.35");
  EXPECT_EQ(r.digested("sha256:x"), "localhost:5000/crix/busybox@sha256:x");
  auto byDigest = *parseReference("busybox@sha256:" + kHex);
  EXPECT_EQ(byDigest.tag, "");
}

TEST(Reference, RefusesMalformed) {
  struct Row {
    std::string in, why;
  } rows[] = {
      {"", "empty"},
      {"Busybox", "lower-case"},
      {"busybox:", "invalid tag"},
      {"busybox:-x", "invalid tag"},
      {"busybox:" + std::string(129, 'a'), "invalid tag"},
      {"busy box", "invalid path component"},
      {"busybox/", "invalid path component"},
      {"/busybox", "invalid path component"},
      {"a//b", "invalid path component"},
      {"a..b", "invalid path component"},
      {"-a", "invalid path component"},
      {"busybox@sha256:abc", "64 lower-case hex"},
      {"busybox@sha256:" + std::string(64, 'G'), "64 lower-case hex"},
      {"busybox@md5:" + kHex, "unsupported digest"},
      {"host:port/app", "invalid registry"},
      {"-bad.io/app", "invalid registry"},
      {":tag", "no repository name"},
      {"a/" + std::string(300, 'b'), "longer than 255"},
  };
  for (const auto& row : rows) {
    auto r = parseReference(row.in);
    ASSERT_FALSE(r) << row.in << " parsed as " << r->string();
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find(row.why), std::string::npos) << row.in << ": " << r.error().message();
    if (row.in.size() < 100) {
      EXPECT_NE(r.error().message().find("\"" + row.in + "\""), std::string::npos);
    }
  }
}

TEST(Reference, SearchRegistries) {
  auto c = *candidates("app:1", {"registry.local:5000", "docker.io"});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].string(), "registry.local:5000/app:1");
  EXPECT_EQ(c[1].string(), "docker.io/library/app:1");
  auto explicitOne = *candidates("quay.io/app:1", {"registry.local:5000"});
  ASSERT_EQ(explicitOne.size(), 1u);
  EXPECT_EQ(explicitOne[0].domain, "quay.io");
  EXPECT_FALSE(hasExplicitDomain("library/busybox"));
  EXPECT_TRUE(hasExplicitDomain("localhost/busybox"));
  EXPECT_TRUE(hasExplicitDomain("my.registry/busybox"));
}

TEST(Reference, Digests) {
  EXPECT_TRUE(isValidDigest("sha256:" + kHex));
  EXPECT_FALSE(isValidDigest("sha256:" + kHex.substr(1)));
  EXPECT_FALSE(isValidDigest("sha512:" + kHex));
}

}  // namespace
}  // namespace crix::image
