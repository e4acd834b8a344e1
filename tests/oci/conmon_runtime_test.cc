#include <sys/stat.h>

#include <gtest/gtest.h>

#include "oci/runtime.h"
#include "temp_dir.h"

namespace crix::oci {
namespace {

// The exit file is conmon's, but a corrupt one must be an error, not an
// exception that takes crixd down.
TEST(ConmonRuntime, ReadsExitFilesAndRefusesGarbage) {
  test::TempDir dir;
  ::mkdir((dir / "exits").c_str(), 0700);
  auto runtime = makeConmonRuntime({.stateDir = dir.path()});

  auto none = runtime->exitCode("missing");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  struct Row {
    const char* content;
    int code;
  };
  for (auto [content, code] : {Row{"0", 0}, Row{"137", 137}, Row{"1\n", 1}, Row{" 2 \n", 2}}) {
    dir.write("exits/c", content);
    auto got = runtime->exitCode("c");
    ASSERT_TRUE(got) << content << ": " << got.error().message();
    ASSERT_TRUE(*got) << content;
    EXPECT_EQ(**got, code) << content;
  }

  for (const char* empty : {"", "\n"}) {
    dir.write("exits/c", empty);
    auto got = runtime->exitCode("c");
    ASSERT_TRUE(got);
    EXPECT_FALSE(*got) << "not written yet";
  }

  for (const char* bad : {"12abc", "abc", "1 2", "99999999999", "0x1"}) {
    dir.write("exits/c", bad);
    auto got = runtime->exitCode("c");
    ASSERT_FALSE(got) << bad;
    EXPECT_EQ(got.error().code(), Code::Internal);
    EXPECT_NE(got.error().message().find("exit file " + dir / "exits/c" + " holds \"" + bad + "\", not an exit code"),
              std::string::npos)
        << got.error().message();
  }
}

}  // namespace
}  // namespace crix::oci
