// Start-up recovery runs its steps in lifecycle/startup.h's order, and a
// failing step stops the ones after it.
#include "lifecycle/startup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crix::lifecycle {
namespace {

struct Recorder {
  std::vector<std::string> ran;
  std::string failAt;
  Result<> step(const std::string& name) {
    ran.push_back(name);
    if (name == failAt) return fail(Code::Internal, name + " broke");
    return {};
  }
  StartupSteps steps() {
    return {
        .killStrayHelpers =
            [this] {
              ran.push_back("kill stray helpers");
              return 2;
            },
        .loadPods = [this] { return step("load pods"); },
        .loadContainers = [this] { return step("load containers"); },
        .watchExits = [this] { return step("watch exits"); },
        .recoverPods = [this] { return step("recover pods"); },
        .knownObjects =
            [this] {
              ran.push_back("known objects");
              return KnownObjects{{"p1", "p2"}, {"p1"}, {"c1", "c2", "c3"}};
            },
        .sweepOrphans =
            [this](const KnownObjects& known) {
              ran.push_back("sweep orphans of " + std::to_string(known.pods.size()) + " pods, " +
                            std::to_string(known.networked.size()) + " networked, " +
                            std::to_string(known.containers.size()) + " containers");
              return 5;
            },
    };
  }
};

TEST(Startup, StepsRunInOrder) {
  Recorder r;
  auto report = recoverAtStartup(r.steps());
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(r.ran, (std::vector<std::string>{"kill stray helpers", "load pods", "load containers", "watch exits",
                                             "recover pods", "known objects",
                                             "sweep orphans of 2 pods, 1 networked, 3 containers"}));
  EXPECT_EQ(report->strayHelpers, 2);
  EXPECT_EQ(report->orphans, 5);
  EXPECT_EQ(report->pods, 2u);
  EXPECT_EQ(report->containers, 3u);
}

TEST(Startup, AFailingStepStopsTheRest) {
  const std::vector<std::string> order = {"load pods", "load containers", "watch exits", "recover pods"};
  for (size_t i = 0; i < order.size(); ++i) {
    Recorder r;
    r.failAt = order[i];
    auto report = recoverAtStartup(r.steps());
    ASSERT_FALSE(report) << order[i];
    EXPECT_EQ(report.error().code(), Code::Internal);
    // Named by its step, with the step's own reason.
    EXPECT_NE(report.error().message().find(order[i] + ": " + order[i] + " broke"), std::string::npos)
        << report.error().message();
    ASSERT_EQ(r.ran.size(), i + 2) << order[i];  // the helpers, then the steps up to the failing one
    EXPECT_EQ(r.ran.back(), order[i]);
  }
}

}  // namespace
}  // namespace crix::lifecycle
