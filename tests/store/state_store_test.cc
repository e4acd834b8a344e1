#include "store/state_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace crix::store {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<StateStore> openOk(const std::string& path) {
  auto s = StateStore::open(path);
  EXPECT_TRUE(s) << (s ? "" : s.error().message());
  return s ? std::move(*s) : nullptr;
}

SandboxRecord pod(const std::string& id) {
  return {id, "k8s_POD_" + id, "ready", 100, R"({"uid":"u"})"};
}
ContainerRecord ctr(const std::string& id, const std::string& pod) {
  return {id, pod, "k8s_c_" + id, "created", 200, "{}"};
}

TEST(StateStore, CreatesAtTheLatestSchema) {
  test::TempDir dir;
  auto s = openOk(dir / "crix.db");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schemaVersion(), latestSchemaVersion());
  EXPECT_GE(latestSchemaVersion(), 1);
}

TEST(StateStore, SandboxesRoundTripAndSurviveReopen) {
  test::TempDir dir;
  {
    auto s = openOk(dir / "crix.db");
    ASSERT_TRUE(s->write([](Tables& t) -> Result<> {
      TRY(t.putSandbox(pod("b")));
      TRY(t.putSandbox(pod("a")));
      auto updated = pod("a");
      updated.state = "notready";
      return t.putSandbox(updated);
    }));
  }
  auto s = openOk(dir / "crix.db");
  std::vector<SandboxRecord> all;
  std::optional<SandboxRecord> a, missing;
  ASSERT_TRUE(s->read([&](Tables& t) -> Result<> {
    all = TRY(t.listSandboxes());
    a = TRY(t.getSandbox("a"));
    missing = TRY(t.getSandbox("zz"));
    return {};
  }));
  ASSERT_EQ(all.size(), 2u);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, "notready");
  EXPECT_EQ(a->data, R"({"uid":"u"})");
  EXPECT_FALSE(missing);
}

TEST(StateStore, AFailedWriteLeavesNothing) {
  auto s = openOk(":memory:");
  auto r = s->write([](Tables& t) -> Result<> {
    TRY(t.putSandbox(pod("a")));
    TRY(t.putContainer(ctr("c1", "a")));
    return fail(Code::Internal, "injected");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "injected");
  size_t pods = 9, ctrs = 9;
  ASSERT_TRUE(s->read([&](Tables& t) -> Result<> {
    pods = TRY(t.listSandboxes()).size();
    ctrs = TRY(t.listContainers()).size();
    return {};
  }));
  EXPECT_EQ(pods, 0u);
  EXPECT_EQ(ctrs, 0u);
}

TEST(StateStore, NamesAreUnique) {
  auto s = openOk(":memory:");
  ASSERT_TRUE(s->write([](Tables& t) { return t.putSandbox(pod("a")); }));
  auto dup = pod("b");
  dup.name = pod("a").name;
  auto r = s->write([&](Tables& t) { return t.putSandbox(dup); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::AlreadyExists);
}

TEST(StateStore, ContainersNeedTheirPodAndKeepIt) {
  auto s = openOk(":memory:");
  EXPECT_FALSE(s->write([](Tables& t) { return t.putContainer(ctr("c1", "nopod")); }));
  ASSERT_TRUE(s->write([](Tables& t) -> Result<> {
    TRY(t.putSandbox(pod("a")));
    return t.putContainer(ctr("c1", "a"));
  }));
  // A pod with containers cannot be deleted out from under them.
  EXPECT_FALSE(s->write([](Tables& t) -> Result<> { return t.deleteSandbox("a").map([](bool) {}); }));
  bool gone = false, again = true;
  ASSERT_TRUE(s->write([&](Tables& t) -> Result<> {
    TRY(t.deleteContainer("c1"));
    gone = TRY(t.deleteSandbox("a"));
    again = TRY(t.deleteSandbox("a"));
    return {};
  }));
  EXPECT_TRUE(gone);
  EXPECT_FALSE(again);
}

TEST(StateStore, ImagesKeepLayerOrderAndLayersStayWhileUsed) {
  auto s = openOk(":memory:");
  ImageRecord img{"sha256:cfg", 300, R"({"tags":["busybox:1"]})", {"sha256:l1", "sha256:l2"}};
  ASSERT_TRUE(s->write([&](Tables& t) -> Result<> {
    TRY(t.putLayer({"sha256:l1", "", "sha256:d1", 100}));
    TRY(t.putLayer({"sha256:l2", "sha256:l1", "sha256:d2", 200}));
    return t.putImage(img);
  }));
  std::optional<ImageRecord> got;
  std::vector<LayerRecord> layers;
  ASSERT_TRUE(s->read([&](Tables& t) -> Result<> {
    got = TRY(t.getImage("sha256:cfg"));
    layers = TRY(t.listLayers());
    return {};
  }));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, img);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[1].parent, "sha256:l1");
  EXPECT_EQ(layers[0].parent, "");

  // An image that names an unknown layer is refused; a used layer stays.
  EXPECT_FALSE(s->write([](Tables& t) { return t.putImage({"sha256:x", 1, "{}", {"sha256:nope"}}); }));
  EXPECT_FALSE(s->write([](Tables& t) -> Result<> { return t.deleteLayer("sha256:l2").map([](bool) {}); }));
  ASSERT_TRUE(s->write([](Tables& t) -> Result<> {
    TRY(t.deleteImage("sha256:cfg"));
    TRY(t.deleteLayer("sha256:l2"));
    TRY(t.deleteLayer("sha256:l1"));
    return {};
  }));
}

TEST(StateStore, CorruptDatabaseIsRefusedAndUntouched) {
  test::TempDir dir;
  std::string garbage(8192, 'x');
  std::string path = dir.write("crix.db", garbage);
  auto s = StateStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::FailedPrecondition);
  EXPECT_NE(s.error().message().find(path), std::string::npos) << s.error().message();
  EXPECT_EQ(slurp(path), garbage);
}

TEST(StateStore, DamagedPagesAreRefused) {
  test::TempDir dir;
  std::string path = dir / "crix.db";
  {
    auto s = openOk(path);
    ASSERT_TRUE(s->write([](Tables& t) -> Result<> {
      for (int i = 0; i < 200; ++i) TRY(t.putSandbox(pod("pod-" + std::to_string(i))));
      return {};
    }));
  }
  // Scribble over the second page: a b-tree page, not the header.
  std::string bytes = slurp(path);
  ASSERT_GT(bytes.size(), 8192u);
  for (size_t i = 4096; i < 8192; ++i) bytes[i] = static_cast<char>(0xA5);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  auto s = StateStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("corrupt"), std::string::npos) << s.error().message();
  EXPECT_EQ(slurp(path), bytes);
}

TEST(StateStore, NewerSchemaIsRefusedAndUntouched) {
  test::TempDir dir;
  std::string path = dir / "crix.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 99", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  std::string before = slurp(path);
  auto s = StateStore::open(path);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99, newer than this crixd knows"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(slurp(path), before);
}

TEST(StateStore, CloseCheckpointsTheWal) {
  test::TempDir dir;
  auto s = openOk(dir / "crix.db");
  ASSERT_TRUE(s->write([](Tables& t) { return t.putSandbox(pod("a")); }));
  EXPECT_TRUE(std::filesystem::exists(dir / "crix.db-wal"));
  ASSERT_TRUE(s->close());
  EXPECT_FALSE(std::filesystem::exists(dir / "crix.db-wal"));
  auto r = s->read([](Tables&) -> Result<> { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unavailable);
}

}  // namespace
}  // namespace crix::store
