// The rollback stack: undo steps newest first, none once committed.
#include "lifecycle/rollback.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace crix::lifecycle {
namespace {

TEST(Rollback, UndoesNewestFirst) {
  std::vector<std::string> undone;
  {
    Rollback undo;
    for (const auto* step : {"reserve name", "mount rootfs", "write bundle", "runtime create"})
      undo.push([&undone, step] { undone.push_back(step); });
  }
  EXPECT_EQ(undone, (std::vector<std::string>{"runtime create", "write bundle", "mount rootfs", "reserve name"}));
}

TEST(Rollback, CommittedUndoesNothing) {
  std::vector<std::string> undone;
  {
    Rollback undo;
    undo.push([&] { undone.push_back("reserve name"); });
    undo.push([&] { undone.push_back("mount rootfs"); });
    undo.commit();
  }
  EXPECT_TRUE(undone.empty());
}

TEST(Rollback, EmptyStackIsFine) {
  Rollback undo;
}

}  // namespace
}  // namespace crix::lifecycle
