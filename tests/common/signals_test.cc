#include "common/signals.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace crix {
namespace {

TEST(Signals, ReadsEverySpellingImagesAndTheCriUse) {
  struct Case {
    const char* name;
    int number;
  } cases[] = {
      {"SIGQUIT", SIGQUIT}, {"QUIT", SIGQUIT},       {"3", 3},
      {"SIGTERM", SIGTERM}, {"SIGIOT", SIGABRT},     {"SIGCLD", SIGCHLD},
      {"SIGPOLL", SIGIO},   {"SIGWINCH", SIGWINCH},  {"SIGRTMIN", 34},
      {"RTMIN+3", 37},      {"SIGRTMINPLUS15", 49},  {"SIGRTMAX", 64},
      {"SIGRTMAX-1", 63},   {"SIGRTMAXMINUS14", 50}, {"64", 64},
  };
  for (const auto& c : cases) {
    auto n = signalNumber(c.name);
    ASSERT_TRUE(n) << c.name;
    EXPECT_EQ(*n, c.number) << c.name;
  }
}

TEST(Signals, RefusesWhatIsNoSignal) {
  for (const char* bad : {"", "SIG", "SIGFOO", "0", "65", "-1", "RTMIN+31", "RTMAX-31", "SIGRTMIN+", "sigterm", "15 "})
    EXPECT_FALSE(signalNumber(bad)) << bad;
}

TEST(Signals, NamesRoundTrip) {
  EXPECT_EQ(signalName(SIGABRT), "SIGABRT");
  EXPECT_EQ(signalName(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(signalName(37), "SIGRTMIN+3");
  EXPECT_EQ(signalName(50), "SIGRTMAX-14");
  EXPECT_EQ(signalName(0), "");
  for (int n = 1; n <= 64; ++n) {
    if (n == 32 || n == 33) continue;  // glibc's own: no name
    auto back = signalNumber(signalName(n));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, n);
  }
}

}  // namespace
}  // namespace crix
