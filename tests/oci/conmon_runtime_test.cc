#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oci/runtime.h"
#include "sys/fs.h"
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

// With the systemd cgroup driver, conmon and every runtime command get
// --systemd-cgroup, so that runc asks systemd for the scope instead of
// taking "slice:prefix:name" for a directory.
TEST(ConmonRuntime, TheSystemdDriverReachesConmonAndTheRuntime) {
  test::TempDir dir;
  for (const char* name : {"conmon", "runc"}) {
    std::string script =
        dir.write(name, "#!/bin/sh\necho \"$@\" >> " + dir / (std::string(name) + ".args") + "\nexit 1\n");
    ::chmod(script.c_str(), 0755);
  }
  for (bool systemd : {false, true}) {
    ::unlink((dir / "conmon.args").c_str());
    ::unlink((dir / "runc.args").c_str());
    auto runtime = makeConmonRuntime({.conmon = dir / "conmon",
                                      .runtime = dir / "runc",
                                      .runtimeRoot = dir / "root",
                                      .stateDir = dir.path(),
                                      .systemdCgroup = systemd});
    EXPECT_FALSE(runtime->update("c", "{}"));
    EXPECT_FALSE(runtime->create({.id = "c", .bundle = dir / "bundle", .logPath = dir / "log"}));
    std::string conmon = sys::readFile(dir / "conmon.args").value_or(""),
                runc = sys::readFile(dir / "runc.args").value_or("");
    std::string prefix = "--root=" + dir / "root" + (systemd ? " --systemd-cgroup" : "");
    EXPECT_EQ(runc, prefix + " update --resources - c\n") << systemd;
    EXPECT_EQ(conmon.find("--systemd-cgroup --runtime-arg --systemd-cgroup") != std::string::npos, systemd) << conmon;
  }
}

}  // namespace
}  // namespace crix::oci
