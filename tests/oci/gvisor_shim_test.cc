#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "oci/gvisor_runtime.h"
#include "sys/fs.h"
#include "sys/process.h"
#include "temp_dir.h"

namespace crix::oci {
namespace {

// The shim against a stand-in runsc that records its calls and answers
// `wait` with an exit status of 7.
class GvisorShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shim_ = dir_.write("gvisor-start", gvisorStartShim());
    ::chmod(shim_.c_str(), 0700);
    runsc_ = dir_.write("runsc", "#!/bin/sh\necho \"$*\" >> " + dir_ / "calls" +
                                     "\ncase \" $* \" in\n"
                                     "  *\" start \"*) echo container-output ;;\n"
                                     "  *\" wait \"*) echo '{\"id\":\"c1\",\"exitStatus\":7}' ;;\n"
                                     "esac\n");
    ::chmod(runsc_.c_str(), 0700);
  }
  Result<sys::CommandResult> run(std::vector<std::string> args) {
    args.insert(args.begin(), shim_);
    return sys::runCommand(args);
  }
  test::TempDir dir_;
  std::string shim_, runsc_;
};

TEST_F(GvisorShimTest, StartsTheContainerAndLeavesAWaiterWithItsStatus) {
  // As conmon is, this test is the waiter's subreaper once the shim exits.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto r = run({"--root=/r", "--platform=ptrace", "--crix-runsc=" + runsc_, "--network=host", "create", "--bundle",
                "/b", "--pid-file", dir_ / "pid", "c1"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exitCode, 0) << r->err;
  EXPECT_EQ(r->out, "container-output\n");  // start's stdio is the container's
  auto pid = sys::readFile(dir_ / "pid");
  ASSERT_TRUE(pid && !pid->empty());
  int status = 0;
  ASSERT_EQ(::waitpid(std::atoi(pid->c_str()), &status, 0), std::atoi(pid->c_str()));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  // runsc got the global flags, in order, before each command.
  EXPECT_EQ(*sys::readFile(dir_ / "calls"),
            "--root=/r --platform=ptrace --network=host start c1\n"
            "--root=/r --platform=ptrace --network=host wait c1\n");
}

TEST_F(GvisorShimTest, RefusesATerminalAndBadCalls) {
  auto tty = run({"--crix-runsc=" + runsc_, "create", "--console-socket", "/s", "--pid-file", dir_ / "pid", "c1"});
  ASSERT_TRUE(tty);
  EXPECT_EQ(tty->exitCode, 1);
  EXPECT_NE(tty->err.find("terminal"), std::string::npos) << tty->err;
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"create", "--pid-file", dir_ / "pid", "c1"},  // no runsc
                                             {"--crix-runsc=" + runsc_, "create", "--pid-file", dir_ / "pid"},  // no id
                                             {"--crix-runsc=" + runsc_, "create", "c1"}}) {  // no pid file
    auto r = run(args);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->exitCode, 2) << r->err;
  }
  EXPECT_FALSE(sys::readFile(dir_ / "calls"));  // runsc never ran

  // A failed start fails the shim, and no waiter is left.
  dir_.write("runsc", "#!/bin/sh\necho no such container >&2\nexit 1\n");
  auto failed = run({"--crix-runsc=" + runsc_, "create", "--pid-file", dir_ / "pid2", "c1"});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->exitCode, 1);
  EXPECT_NE(failed->err.find("no such container"), std::string::npos);
  EXPECT_FALSE(sys::readFile(dir_ / "pid2"));
}

}  // namespace
}  // namespace crix::oci
