#include "sys/process.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

namespace crix::sys {
namespace {

TEST(Process, CapturesOutputAndExitCode) {
  auto r = runCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exitCode, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Process, FeedsStdin) {
  auto r = runCommand({"/bin/cat"}, {.stdinData = "some input"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "some input");
}

// A helper that exits without reading its input must not take the caller
// down with SIGPIPE, even in a process that does not ignore it (this one).
TEST(Process, AChildThatReadsNoInputIsNoSignalToTheCaller) {
  for (int round = 0; round < 20; ++round) {
    auto r = runCommand({"/bin/sh", "-c", "exit 4"}, {.stdinData = std::string(1 << 20, 'x')});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->exitCode, 4);
  }
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE)) << "no SIGPIPE is left pending";
}

TEST(Process, AWriteToAPipeWithoutReaderIsAnError) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  auto wrote = writeToPipe(fds[1], "0");
  ::close(fds[1]);
  ASSERT_FALSE(wrote);
  EXPECT_NE(wrote.error().message().find("Broken pipe"), std::string::npos) << wrote.error().message();
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST(Process, KillsWhatOutlivesTheTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = runCommand({"/bin/sleep", "30"}, {.timeout = std::chrono::milliseconds(200)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::DeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Process, CapsOutput) {
  auto r = runCommand({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, {.maxOutput = 1000});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->exitCode, 0);
}

TEST(Process, ReportsSignalsAndSpawnFailures) {
  auto r = runCommand({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exitCode, -1);
  EXPECT_EQ(r->signal, 9);
  EXPECT_FALSE(runCommand({"/nonexistent/binary"}));
  EXPECT_FALSE(runCommand({}));
}

TEST(Process, PassesAnExplicitEnvironment) {
  auto r = runCommand({"/bin/sh", "-c", "echo $CRIX_X"}, {.env = {"CRIX_X=42"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "42\n");
}

}  // namespace
}  // namespace crix::sys

namespace crix::sys {
namespace {

TEST(Proc, ReadsThisProcess) {
  int self = ::getpid();
  auto pids = listPids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), self), pids.end());
  auto args = processArgs(self);
  ASSERT_FALSE(args.empty());
  EXPECT_NE(args[0].find("crix_unit_tests"), std::string::npos) << args[0];
  EXPECT_GT(processStartTicks(self), 0u);
  // The start time names one process: a child started later has a later one.
  EXPECT_GE(processStartTicks(self), processStartTicks(1));
  EXPECT_TRUE(processArgs(-5).empty());
  EXPECT_EQ(processStartTicks(-5), 0u);
}

}  // namespace
}  // namespace crix::sys
