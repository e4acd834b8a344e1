#include "image/image_store.h"

#include <chrono>
#include <future>

#include <gtest/gtest.h>

#include "image/content_store.h"
#include "image/registry.h"
#include "metrics/registry.h"
#include "storage/layer_store.h"
#include "store/state_store.h"
#include "temp_dir.h"

namespace crix::image {
namespace {

// The layers-in-use callback is the container manager, which holds its own
// lock while it reads and writes the database: asking it with the database
// locked deadlocked RemoveContainer against a concurrent ContainerStatus
// (found by crixctl bench at concurrency 10).
TEST(ImageStore, AsksForLayersInUseWithTheDatabaseUnlocked) {
  test::TempDir dir;
  auto db = std::move(*store::StateStore::open(dir / "crix.db"));
  auto content = std::move(*ContentStore::open(Paths(dir / "content", "")));
  auto layers = std::move(*storage::LayerStore::open(Paths(dir / "layers", ""), 0, {}));
  RegistryClient registry({});
  metrics::Registry metrics;
  ImageStore images(*db, *content, *layers, registry, {}, metrics);
  std::future<Result<>> probe;  // outlives the callback: a blocked probe must not block it
  bool databaseFree = false;
  images.setLayersInUse([&] {
    probe = std::async(std::launch::async, [&] { return db->read([](store::Tables&) -> Result<> { return {}; }); });
    databaseFree = probe.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    return std::set<std::string>{};
  });
  ASSERT_TRUE(images.dropUnusedLayers());
  EXPECT_TRUE(databaseFree);
}

}  // namespace
}  // namespace crix::image
