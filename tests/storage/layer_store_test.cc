#include "storage/layer_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "image/digest.h"
#include "storage/tar_builder.h"
#include "sys/fs.h"
#include "temp_dir.h"

namespace crix::storage {
namespace {

namespace fs = std::filesystem;

std::string sha256Of(const std::string& data) {
  return image::sha256(data);
}

// The diff ID is the digest of the uncompressed tar, whatever the compression.
TEST(LayerStream, DecompressesAndHashes) {
  test::TempDir dir;
  std::string plain = test::TarBuilder().file("a", std::string(300000, 'a')).file("b", "bee").finish();
  for (auto [name, filter, compression] : {std::tuple{"plain", "", Compression::None},
                                           {"gzip", "gzip", Compression::Gzip},
                                           {"zstd", "zstd", Compression::Zstd}}) {
    std::string blob =
        dir.write(name, test::TarBuilder(filter).file("a", std::string(300000, 'a')).file("b", "bee").finish());
    auto stream = LayerStream::open(blob, compression, 0);
    ASSERT_TRUE(stream) << name;
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = (*stream)->read(buf, sizeof buf);
      ASSERT_TRUE(n) << name << ": " << n.error().message();
      if (*n == 0) break;
      out.append(buf, *n);
    }
    EXPECT_TRUE(out == plain) << name << ": " << out.size() << " bytes, want " << plain.size();
    EXPECT_EQ(*(*stream)->finish(), sha256Of(plain)) << name;
  }
}

TEST(LayerStream, CorruptGzipIsRefused) {
  test::TempDir dir;
  std::string gz = test::TarBuilder("gzip").file("a", std::string(100000, 'a')).finish();
  std::string blob = dir.write("bad.gz", gz.substr(0, gz.size() / 2));
  auto stream = LayerStream::open(blob, Compression::Gzip, 0);
  ASSERT_TRUE(stream);
  auto r = (*stream)->finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
}

TEST(DiskUsage, CountsHardLinkedFilesOnce) {
  test::TempDir dir;
  fs::create_directories(dir / "t");
  dir.write("t/big", std::string(1 << 20, 'x'));
  for (int i = 0; i < 10; ++i) fs::create_hard_link(dir / "t/big", dir / ("t/link" + std::to_string(i)));
  auto u = diskUsage(dir / "t");
  EXPECT_GE(u.bytes, 1 << 20);
  EXPECT_LT(u.bytes, 2 << 20);
  EXPECT_EQ(u.inodes, 1);  // one inode, eleven names
}

class LayerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tar_ = test::TarBuilder().file("hello", "world").finish();
    blob_ = dir_.write("blob.tar", tar_);
    diffId_ = sha256Of(tar_);
    store_ = std::move(*LayerStore::open(Paths(dir_ / "root", ""), 0, {}));
  }
  test::TempDir dir_;
  std::string tar_, blob_, diffId_;
  std::unique_ptr<LayerStore> store_;
};

TEST_F(LayerStoreTest, AppliesOnceAndRemoves) {
  std::string chain = diffId_;
  auto applied = store_->apply(chain, diffId_, blob_, Compression::None);
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_GT(applied->size, 0);
  EXPECT_TRUE(store_->has(chain));
  EXPECT_EQ(*sys::readFile(store_->diffPath(chain) + "/hello"), "world");
  EXPECT_TRUE(store_->apply(chain, diffId_, blob_, Compression::None));  // present: kept
  ASSERT_TRUE(store_->remove(chain));
  EXPECT_FALSE(store_->has(chain));
  EXPECT_TRUE(store_->remove(chain));  // absent: fine
}

TEST_F(LayerStoreTest, AWrongDiffIdLeavesNothing) {
  std::string wrong = "sha256:" + std::string(64, '0');
  auto r = store_->apply(wrong, wrong, blob_, Compression::None);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("does not match its diff ID"), std::string::npos);
  EXPECT_FALSE(store_->has(wrong));
  EXPECT_TRUE(fs::is_empty(dir_ / "root/layers"));
}

// The size file is the store's own, but a damaged one reads as 0 rather
// than throwing out of a pull.
TEST_F(LayerStoreTest, ADamagedSizeFileReadsAsZero) {
  ASSERT_TRUE(store_->apply(diffId_, diffId_, blob_, Compression::None));
  int64_t size = store_->recordedSize(diffId_);
  EXPECT_GT(size, 0);
  std::string sizeFile = fs::path(store_->diffPath(diffId_)).parent_path() / "size";
  for (const char* bad : {"12abc", "", "-", " 12", "99999999999999999999999", "0x10"}) {
    ASSERT_TRUE(sys::writeFileAtomic(sizeFile, bad));
    EXPECT_EQ(store_->recordedSize(diffId_), 0) << bad;
    auto kept = store_->apply(diffId_, diffId_, blob_, Compression::None);
    ASSERT_TRUE(kept) << bad;
    EXPECT_EQ(kept->size, 0) << bad;
  }
  ASSERT_TRUE(sys::writeFileAtomic(sizeFile, std::to_string(size)));
  EXPECT_EQ(store_->recordedSize(diffId_), size);
  EXPECT_EQ(store_->recordedSize("sha256:" + std::string(64, '1')), 0);  // absent
}

// Removed layers are deleted on the store's own threads, which its
// destructor joins: nothing is left behind, nothing runs on.
TEST_F(LayerStoreTest, TheStoreFinishesItsDeletionsBeforeItGoes) {
  ASSERT_TRUE(store_->apply(diffId_, diffId_, blob_, Compression::None));
  ASSERT_TRUE(store_->remove(diffId_));
  store_.reset();
  EXPECT_TRUE(fs::is_empty(dir_ / "root/layers"));
}

TEST_F(LayerStoreTest, SweepAndRestartCleanUp) {
  ASSERT_TRUE(store_->apply(diffId_, diffId_, blob_, Compression::None));
  fs::create_directories(dir_ / "root/layers/tmp-interrupted/diff");
  EXPECT_EQ(store_->sweep({diffId_}), 0);
  EXPECT_TRUE(store_->has(diffId_));
  EXPECT_EQ(store_->sweep({}), 1);
  EXPECT_FALSE(store_->has(diffId_));
  store_ = std::move(*LayerStore::open(Paths(dir_ / "root", ""), 0, {}));
  EXPECT_FALSE(fs::exists(dir_ / "root/layers/tmp-interrupted"));
}

}  // namespace
}  // namespace crix::storage
