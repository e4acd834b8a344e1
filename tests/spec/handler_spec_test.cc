#include "spec/handler_spec.h"

#include <gtest/gtest.h>

namespace crix::spec {
namespace {

using nlohmann::json;

TEST(HandlerSpec, AnnotationAllowList) {
  struct Row {
    std::vector<std::string> allowed;
    std::string key;
    bool want;
  } rows[] = {
      {{}, "dev.gvisor.spec.mount.a.type", false},       {{"dev.gvisor.*"}, "dev.gvisor.spec.mount.a.type", true},
      {{"dev.gvisor.*"}, "dev.gvisor.", false},    // the prefix alone is no key
      {{"dev.gvisor.*"}, "dev.gvisorx.a", false},  // the dot belongs to the prefix
      {{"dev.gvisor.*"}, "dev.gvisor", false},           {{"io.example.one"}, "io.example.one", true},
      {{"io.example.one"}, "io.example.one.two", false}, {{"a.*", "b.c"}, "b.c", true},
  };
  for (const auto& r : rows) EXPECT_EQ(annotationAllowed(r.allowed, r.key), r.want) << r.key;
}

TEST(HandlerSpec, PassedAnnotations) {
  std::map<std::string, std::string> pod = {{"dev.gvisor.spec.mount.a.type", "bind"},
                                            {"dev.gvisor.spec.mount.a.share", "pod"},
                                            {"io.kubernetes.cri.sandbox-id", "forged"},
                                            {"kubectl.kubernetes.io/last-applied", "{}"}};
  std::map<std::string, std::string> ctr = {{"dev.gvisor.spec.mount.a.share", "container"}, {"note", "x"}};
  EXPECT_EQ(passedAnnotations({"dev.gvisor.*", "io.kubernetes.cri.*"}, pod, ctr),
            (std::map<std::string, std::string>{{"dev.gvisor.spec.mount.a.type", "bind"},
                                                {"dev.gvisor.spec.mount.a.share", "container"}}));
  EXPECT_TRUE(passedAnnotations({}, pod, ctr).empty());
  EXPECT_EQ(passedAnnotations({"note"}, pod, ctr), (std::map<std::string, std::string>{{"note", "x"}}));
}

TEST(HandlerSpec, OverBaseSpec) {
  json base = {{"process", {{"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}}, {"cwd", "/x"}}},
               {"annotations", {{"from.base", "1"}}},
               {"linux", {{"namespaces", {{{"type", "user"}}}}}}};
  json built = {{"process", {{"cwd", "/"}, {"args", {"sh"}}}},
                {"annotations", {{"ours", "2"}}},
                {"linux", {{"namespaces", {{{"type", "mount"}}}}}}};
  json want = {
      {"process",
       {{"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}}, {"cwd", "/"}, {"args", {"sh"}}}},
      {"annotations", {{"from.base", "1"}, {"ours", "2"}}},
      {"linux", {{"namespaces", {{{"type", "mount"}}}}}}};  // arrays are ours
  EXPECT_EQ(overBaseSpec(base, built), want);
  EXPECT_EQ(overBaseSpec(json::object(), built), built);
  EXPECT_EQ(overBaseSpec(json::array(), built), built);
}

}  // namespace
}  // namespace crix::spec
