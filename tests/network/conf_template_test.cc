#include "network/conf_template.h"

#include <gtest/gtest.h>

namespace crix::network {
namespace {

TEST(ConfTemplate, FillsInTheFirstPodCidr) {
  const std::string text = R"({"name":"k8s","plugins":[{"type":"bridge","ipam":{"subnet":"{{.PodCIDR}}"}}]})";
  auto out = renderConfTemplate(text, "10.244.1.0/24,fd00:10:244:1::/64");
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, R"({"name":"k8s","plugins":[{"type":"bridge","ipam":{"subnet":"10.244.1.0/24"}}]})");
  EXPECT_TRUE(renderConfTemplate(text, "fd00:10:244:1::/64"));
}

TEST(ConfTemplate, RefusesWhatItCannotFillIn) {
  const std::string ok = R"({"subnet":"{{.PodCIDR}}"})";
  struct Row {
    std::string text, cidr, says;
  } rows[] = {
      {ok, "10.244.1.0", "is not a CIDR"},
      {ok, "10.244.1.0/33", "is not a CIDR"},
      {ok, "banana/24", "is not a CIDR"},
      {R"({"subnet":"10.0.0.0/8"})", "10.244.1.0/24", "no {{.PodCIDR}}"},
      {R"({"subnet":"{{.PodCIDR}}","r":"{{.Routes}}"})", "10.244.1.0/24", "not \"{{.Routes}}\""},
      {R"({"subnet":{{.PodCIDR}}})", "10.244.1.0/24", "not a JSON object"},
  };
  for (const auto& r : rows) {
    auto out = renderConfTemplate(r.text, r.cidr);
    ASSERT_FALSE(out) << r.text << " " << r.cidr;
    EXPECT_EQ(out.error().code(), Code::InvalidArgument);
    EXPECT_NE(out.error().message().find(r.says), std::string::npos) << out.error().message();
  }
}

}  // namespace
}  // namespace crix::network
