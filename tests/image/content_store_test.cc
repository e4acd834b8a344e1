#include "image/content_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "image/digest.h"
#include "image/registry.h"
#include "temp_dir.h"

namespace crix::image {
namespace {

namespace fs = std::filesystem;

TEST(ContentStore, CommitsOnlyVerifiedBlobs) {
  test::TempDir dir;
  auto store = std::move(*ContentStore::open(Paths(dir.path(), "")));
  std::string data = "hello blob";
  std::string digest = sha256(data);
  ASSERT_TRUE(store->put(digest, data));
  EXPECT_TRUE(store->has(digest));
  EXPECT_EQ(*store->read(digest), data);

  std::string other = sha256("other");
  auto w = *store->writer(other, 5);
  ASSERT_TRUE(w->write("OTHER", 5));
  auto r = w->commit();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos);
  w.reset();
  EXPECT_FALSE(store->has(other));
  EXPECT_TRUE(fs::is_empty(dir / "content/ingest"));

  auto tooBig = *store->writer(other, 3);
  EXPECT_FALSE(tooBig->write("other", 5));
  auto tooSmall = *store->writer(other, 9);
  ASSERT_TRUE(tooSmall->write("other", 5));
  EXPECT_FALSE(tooSmall->commit());
}

TEST(ContentStore, InterruptedWritesAreRemovedAtOpen) {
  test::TempDir dir;
  {
    auto store = std::move(*ContentStore::open(Paths(dir.path(), "")));
    auto w = *store->writer(sha256("x"), 1);
    ASSERT_TRUE(w->write("x", 1));
    fs::copy_file(fs::directory_iterator(dir / "content/ingest")->path(), dir / "content/ingest/leftover");
  }
  auto store = std::move(*ContentStore::open(Paths(dir.path(), "")));
  EXPECT_TRUE(fs::is_empty(dir / "content/ingest"));
  EXPECT_EQ(store->paths().root(), dir.path());
  EXPECT_FALSE(store->read("nonsense"));
}

TEST(ContentStore, ChainIds) {
  std::string a = sha256("a"), b = sha256("b");
  auto chains = chainIds({a, b});
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[0], a);
  EXPECT_EQ(chains[1], sha256(a + " " + b));
}

TEST(Registry, ParsesAuthChallenges) {
  auto c = parseAuthChallenges(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(c[0].params["scope"], "repository:a/b:pull,push");
  auto basic = parseAuthChallenges(R"(Basic realm="Registry Realm")");
  ASSERT_EQ(basic.size(), 1u);
  EXPECT_EQ(basic[0].scheme, "basic");
  EXPECT_EQ(basic[0].params["realm"], "Registry Realm");
  EXPECT_TRUE(parseAuthChallenges("").empty());
}

}  // namespace
}  // namespace crix::image
