#include "security/seccomp.h"

#include <gtest/gtest.h>

namespace crix::security {
namespace {

bool denies(const nlohmann::json& profile, const std::string& call) {
  for (const auto& rule : profile["syscalls"])
    for (const auto& n : rule["names"])
      if (n == call) return true;
  return false;
}

TEST(Seccomp, ParsesProfilePaths) {
  EXPECT_EQ(parseSeccompPath("")->kind, SeccompKind::Unconfined);
  EXPECT_EQ(parseSeccompPath("unconfined")->kind, SeccompKind::Unconfined);
  EXPECT_EQ(parseSeccompPath("runtime/default")->kind, SeccompKind::RuntimeDefault);
  EXPECT_EQ(parseSeccompPath("docker/default")->kind, SeccompKind::RuntimeDefault);
  auto local = parseSeccompPath("localhost//etc/profile.json");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->localhostPath, "/etc/profile.json");
  EXPECT_FALSE(parseSeccompPath("localhost/relative.json"));
  auto bare = parseSeccompPath("/etc/profile.json");
  ASSERT_FALSE(bare);
  EXPECT_NE(bare.error().message().find("localhost/"), std::string::npos);
}

TEST(Seccomp, RuntimeDefaultDeniesWhatCapabilitiesDoNotAllow) {
  auto plain = runtimeDefaultProfile({"CAP_CHOWN"});
  EXPECT_EQ(plain["defaultAction"], "SCMP_ACT_ALLOW");
  for (const char* call : {"mount", "kexec_load", "init_module", "bpf", "ptrace", "keyctl", "unshare"})
    EXPECT_TRUE(denies(plain, call)) << call;
  EXPECT_FALSE(denies(plain, "read"));
  auto admin = runtimeDefaultProfile({"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"});
  EXPECT_FALSE(denies(admin, "mount"));
  EXPECT_FALSE(denies(admin, "ptrace"));
  EXPECT_TRUE(denies(admin, "kexec_load"));
  EXPECT_TRUE(denies(admin, "keyctl"));  // no capability makes keyrings namespaced
}

TEST(Seccomp, ProfilesForRequests) {
  EXPECT_FALSE(*seccompFor({SeccompKind::Unconfined, ""}, "", {}));
  EXPECT_TRUE(*seccompFor({SeccompKind::RuntimeDefault, ""}, "", {}));
  auto local = seccompFor({SeccompKind::Localhost, "/p.json"}, R"({"defaultAction":"SCMP_ACT_ERRNO"})", {});
  ASSERT_TRUE(local && *local);
  EXPECT_EQ((**local)["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_FALSE(seccompFor({SeccompKind::Localhost, "/p.json"}, "not json", {}));
}

}  // namespace
}  // namespace crix::security
