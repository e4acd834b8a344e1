#include "spec/cdi.h"

#include <gtest/gtest.h>

namespace crix::spec {
namespace {

const char* kVendorSpec = R"({
  "cdiVersion": "0.6.0",
  "kind": "example.com/gpu",
  "containerEdits": {"env": ["GPU_DRIVER=1"], "hooks": [{"hookName": "createContainer", "path": "/bin/ldconfig-hook",
                     "args": ["ldconfig-hook", "update"], "timeout": 5}]},
  "devices": [
    {"name": "gpu0", "containerEdits": {
      "deviceNodes": [{"path": "/dev/gpu0", "hostPath": "/dev/null", "permissions": "rw"},
                      {"path": "/dev/gpuctl", "type": "c", "major": 195, "minor": 255, "fileMode": 432, "gid": 44}],
      "mounts": [{"hostPath": "/usr/lib/gpu", "containerPath": "/usr/lib/gpu", "options": ["ro", "nosuid", "nodev", "bind"]}],
      "env": ["GPU_VISIBLE=0"], "additionalGids": [0, 44]}},
    {"name": "gpu1", "containerEdits": {"env": ["GPU_VISIBLE=1"]}}
  ]
})";

TEST(Cdi, ResolvesADeviceWithItsSpecsOwnEditsOnce) {
  auto edits =
      resolveCdiDevices({"example.com/gpu=gpu0", "example.com/gpu=gpu1"}, {{"/etc/cdi/gpu.json", kVendorSpec}});
  ASSERT_TRUE(edits) << edits.error().message();
  EXPECT_EQ(edits->env, (std::vector<std::string>{"GPU_DRIVER=1", "GPU_VISIBLE=0", "GPU_VISIBLE=1"}));
  ASSERT_EQ(edits->hooks.size(), 1u);
  EXPECT_EQ(edits->hooks[0], (Hook{"createContainer", "/bin/ldconfig-hook", {"ldconfig-hook", "update"}, {}, 5}));
  ASSERT_EQ(edits->deviceNodes.size(), 2u);
  EXPECT_EQ(edits->deviceNodes[0].hostPath, "/dev/null");
  EXPECT_FALSE(edits->deviceNodes[0].major);
  EXPECT_EQ(edits->deviceNodes[0].permissions, "rw");
  EXPECT_EQ(edits->deviceNodes[1].type, 'c');
  EXPECT_EQ(edits->deviceNodes[1].major, 195);
  EXPECT_EQ(edits->deviceNodes[1].fileMode, 0660u);
  EXPECT_EQ(edits->deviceNodes[1].gid, 44u);
  ASSERT_EQ(edits->mounts.size(), 1u);
  EXPECT_TRUE(edits->mounts[0].readonly);
  EXPECT_EQ(edits->mounts[0].propagation, "rprivate");
  EXPECT_EQ(edits->mounts[0].options, (std::vector<std::string>{"nosuid", "nodev"}));
  EXPECT_EQ(edits->additionalGids, (std::vector<uint32_t>{44}));  // 0 is left out
}

TEST(Cdi, ALaterDirectoryWinsAndTheSameOneConflicts) {
  const char* override = R"({"cdiVersion":"0.6.0","kind":"example.com/gpu",
    "devices":[{"name":"gpu1","containerEdits":{"env":["GPU_VISIBLE=override"]}}]})";
  auto edits = resolveCdiDevices({"example.com/gpu=gpu1"},
                                 {{"/etc/cdi/gpu.json", kVendorSpec, 0}, {"/var/run/cdi/gpu.json", override, 1}});
  ASSERT_TRUE(edits) << edits.error().message();
  EXPECT_EQ(edits->env, (std::vector<std::string>{"GPU_VISIBLE=override"}));

  auto clash = resolveCdiDevices({"example.com/gpu=gpu1"},
                                 {{"/etc/cdi/a.json", kVendorSpec, 0}, {"/etc/cdi/b.json", override, 0}});
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message().find("defined by both /etc/cdi/a.json and /etc/cdi/b.json"), std::string::npos)
      << clash.error().message();
}

TEST(Cdi, RefusesWhatItCannotFindOrApply) {
  std::vector<CdiSpecFile> files = {{"/etc/cdi/gpu.json", kVendorSpec}};
  struct Row {
    const char* what;
    std::vector<std::string> names;
    std::vector<CdiSpecFile> files;
    const char* says;
  } rows[] = {
      {"unqualified", {"gpu0"}, files, "not a qualified name"},
      {"unknown", {"example.com/gpu=gpu9"}, files, "example.com/gpu=gpu9 is defined by no spec"},
      {"not JSON", {"example.com/gpu=gpu0"}, {{"/etc/cdi/bad.json", "{"}}, "bad.json is not a JSON object"},
      {"no kind", {"example.com/gpu=gpu0"}, {{"/etc/cdi/k.json", R"({"devices":[]})"}}, "\"kind\" is missing"},
      {"tmpfs mount",
       {"a.com/b=c"},
       {{"/etc/cdi/m.json",
         R"({"kind":"a.com/b","devices":[{"name":"c","containerEdits":{"mounts":[{"hostPath":"x","containerPath":"/x","type":"tmpfs"}]}}]})"}},
       "crix makes bind mounts only"},
      {"odd mount option",
       {"a.com/b=c"},
       {{"/etc/cdi/m.json",
         R"({"kind":"a.com/b","devices":[{"name":"c","containerEdits":{"mounts":[{"hostPath":"x","containerPath":"/x","options":["idmap"]}]}}]})"}},
       "option \"idmap\""},
      {"intelRdt",
       {"a.com/b=c"},
       {{"/etc/cdi/r.json", R"({"kind":"a.com/b","devices":[{"name":"c","containerEdits":{"intelRdt":{}}}]})"}},
       "cannot apply CDI intelRdt"},
      {"unknown hook",
       {"a.com/b=c"},
       {{"/etc/cdi/h.json",
         R"({"kind":"a.com/b","devices":[{"name":"c","containerEdits":{"hooks":[{"hookName":"later","path":"/x"}]}}]})"}},
       "unknown hook \"later\""},
  };
  for (const auto& row : rows) {
    auto edits = resolveCdiDevices(row.names, row.files);
    ASSERT_FALSE(edits) << row.what;
    EXPECT_EQ(edits.error().code(), Code::InvalidArgument) << row.what;
    EXPECT_NE(edits.error().message().find(row.says), std::string::npos) << row.what << ": " << edits.error().message();
  }
  auto unread = resolveCdiDevices({"example.com/gpu=gpu9"}, files, {"/etc/cdi/nvidia.yaml"});
  ASSERT_FALSE(unread);
  EXPECT_NE(unread.error().message().find("JSON specs only; not read: /etc/cdi/nvidia.yaml"), std::string::npos)
      << unread.error().message();
}

}  // namespace
}  // namespace crix::spec
