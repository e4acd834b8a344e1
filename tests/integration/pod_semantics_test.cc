// Kubernetes pod semantics that conformance checks little: the containers
// of a pod share one IPC and one UTS namespace even without an infra
// container, stop with the signal the config or the image names, get the
// groups their policy says and mounts read-only all the way down.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/pod_fixture.h"
#include "sys/fs.h"

namespace crix::test {
namespace {

using namespace std::chrono_literals;

class PodSemanticsTest : public PodFixture {
 protected:
  std::string moreToml() override {
    return "[runtime]\npod_stop_grace_period = \"3s\"\ncdi_spec_dirs = [\"" + tmp_ / "cdi" + "\"]\n";
  }
  std::string run(const v1::ContainerConfig& c) {
    std::string id;
    auto s = create(c, &id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    s = start(id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    return id;
  }
  std::string exec(const std::string& id, std::vector<std::string> cmd) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_timeout(10);
    v1::ExecSyncResponse resp;
    auto s = d_->runtime()->ExecSync(rpcContext(20000).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.exit_code(), 0) << resp.stderr();
    std::string out = resp.stdout();
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  grpc::Status stop(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    return d_->runtime()->StopContainer(rpcContext(static_cast<int>(timeout) * 1000 + 10000).get(), req, &resp);
  }
  nlohmann::json verboseInfo(const std::string& id) { return verboseContainerInfo(*d_, id); }
  // A shell that reports which signal ended it in its exit code: 3 for
  // SIGQUIT, 15 for SIGTERM (traps, since it runs as PID 1).
  v1::ContainerConfig trapping(const std::string& name, const std::string& image = "crix/busybox-user:1") {
    auto c = config(name, {"sh", "-c", "trap 'exit 3' QUIT; trap 'exit 15' TERM; while :; do sleep 0.1; done"});
    c.mutable_image()->set_image(TestRegistry::get().ref(image));
    return c;
  }
  std::string statePath(const std::string& dir) const { return tmp_ / ("d/run/" + dir + "/" + pod_); }
};

TEST_F(PodSemanticsTest, ContainersOfAPodShareIpcAndUtsWithoutAnInfraContainer) {
  std::string a = run(config("a", {"sleep", "3600"}));
  std::string b = run(config("b", {"sleep", "3600"}));
  std::string ipcA = exec(a, {"readlink", "/proc/self/ns/ipc"});
  std::string ipcB = exec(b, {"readlink", "/proc/self/ns/ipc"});
  ASSERT_FALSE(ipcA.empty());
  EXPECT_EQ(ipcA, ipcB);
  EXPECT_NE(ipcA, std::filesystem::read_symlink("/proc/self/ns/ipc").string());
  EXPECT_EQ(exec(a, {"readlink", "/proc/self/ns/uts"}), exec(b, {"readlink", "/proc/self/ns/uts"}));
  EXPECT_NE(exec(a, {"readlink", "/proc/self/ns/uts"}), std::filesystem::read_symlink("/proc/self/ns/uts").string());
  EXPECT_EQ(exec(a, {"hostname"}), "podhost");
  EXPECT_EQ(exec(b, {"hostname"}), "podhost");
  // The namespaces are the pinned ones; the pod's removal unpins them.
  EXPECT_TRUE(std::filesystem::exists(statePath("ipcns")));
  EXPECT_TRUE(std::filesystem::exists(statePath("utsns")));
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(pod_);
  v1::RemovePodSandboxResponse removed;
  ASSERT_TRUE(d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &removed).ok());
  EXPECT_FALSE(std::filesystem::exists(statePath("ipcns")));
  EXPECT_FALSE(std::filesystem::exists(statePath("utsns")));
  auto mounts = sys::readFile("/proc/self/mountinfo");
  ASSERT_TRUE(mounts);
  EXPECT_EQ(mounts->find(pod_), std::string::npos) << "a mount of the pod is left";
  pod_.clear();
}

TEST_F(PodSemanticsTest, StopSendsTheConfigsSignalElseTheImagesElseSigterm) {
  struct Case {
    const char* name;
    const char* image;
    v1::Signal asked;
    int exitCode;
    v1::Signal reported;
  } cases[] = {
      {"default", "crix/busybox-user:1", v1::SIGNAL_RUNTIME_DEFAULT, 15, v1::SIGNAL_SIGTERM},
      {"image", "crix/busybox-quit:1", v1::SIGNAL_RUNTIME_DEFAULT, 3, v1::SIGNAL_SIGQUIT},
      {"config", "crix/busybox-user:1", v1::SIGNAL_SIGQUIT, 3, v1::SIGNAL_SIGQUIT},
      {"config-over-image", "crix/busybox-quit:1", v1::SIGNAL_SIGTERM, 15, v1::SIGNAL_SIGTERM},
  };
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-quit:1"));
  v1::PullImageResponse pulled;
  ASSERT_TRUE(d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled).ok());
  for (const auto& c : cases) {
    auto cfg = trapping(c.name, c.image);
    cfg.set_stop_signal(c.asked);
    std::string id = run(cfg);
    EXPECT_EQ(status(id).stop_signal(), c.reported) << c.name;
    std::this_thread::sleep_for(200ms);  // the traps are set
    ASSERT_TRUE(stop(id, 20).ok()) << c.name;
    auto st = status(id);
    EXPECT_EQ(st.state(), v1::CONTAINER_EXITED) << c.name;
    EXPECT_EQ(st.exit_code(), c.exitCode) << c.name << ": the trap saw another signal";
    EXPECT_EQ(verboseInfo(id).value("stopSignal", ""), c.reported == v1::SIGNAL_SIGQUIT ? "SIGQUIT" : "SIGTERM");
  }
}

TEST_F(PodSemanticsTest, StopPodSandboxSendsEachContainersStopSignalThenKills) {
  auto cfg = trapping("quits");
  cfg.set_stop_signal(v1::SIGNAL_SIGQUIT);
  std::string quits = run(cfg);
  std::string terms = run(trapping("terms"));
  // One that ignores its stop signal: only the grace period's end stops it.
  std::string ignores = run(config("ignores", {"sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"}));
  std::this_thread::sleep_for(200ms);
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(pod_);
  v1::StopPodSandboxResponse resp;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), req, &resp).ok());
  EXPECT_EQ(status(quits).exit_code(), 3);
  EXPECT_EQ(status(terms).exit_code(), 15);
  EXPECT_EQ(status(ignores).exit_code(), 137);
}

TEST_F(PodSemanticsTest, AStopSignalThatIsNoSignalIsRefused) {
  auto cfg = config("bad", {"sleep", "1"});
  cfg.set_stop_signal(static_cast<v1::Signal>(999));
  auto s = create(cfg, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(PodSemanticsTest, TheProcessGroupsHoldItsPrimaryGroupAndTheSupplementalOnes) {
  auto cfg = config("groups", {"sleep", "3600"});
  auto* sc = cfg.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(0);
  sc->add_supplemental_groups(10);
  std::string id = run(cfg);
  // As the peers give it: groups=0(root),10(wheel) for `id`.
  EXPECT_EQ(exec(id, {"grep", "^Groups:", "/proc/self/status"}), "Groups:\t0 10 ");
}

TEST_F(PodSemanticsTest, StrictSupplementalGroupsGiveOnlyTheConfigsGroups) {
  v1::StatusRequest req;
  v1::StatusResponse resp;
  ASSERT_TRUE(d_->runtime()->Status(rpcContext().get(), req, &resp).ok());
  EXPECT_TRUE(resp.features().supplemental_groups_policy());
  // The image's crix (1000) is a member of extra (2000) in its /etc/group.
  struct Row {
    v1::SupplementalGroupsPolicy policy;
    const char* groups;  // as the kernel keeps them: sorted
    std::vector<int64_t> reported;
  } rows[] = {{v1::SupplementalGroupsPolicy::Merge, "Groups:\t1000 1234 2000 ", {1000, 2000, 1234}},
              {v1::SupplementalGroupsPolicy::Strict, "Groups:\t1000 1234 ", {1000, 1234}}};
  for (const auto& row : rows) {
    auto cfg = config("groups-" + std::to_string(row.policy), {"sleep", "3600"});
    auto* sc = cfg.mutable_linux()->mutable_security_context();
    sc->mutable_run_as_user()->set_value(1000);
    sc->add_supplemental_groups(1234);
    sc->set_supplemental_groups_policy(row.policy);
    std::string id = run(cfg);
    EXPECT_EQ(exec(id, {"grep", "^Groups:", "/proc/self/status"}), row.groups);
    auto user = status(id).user().linux();
    EXPECT_EQ(user.uid(), 1000);
    EXPECT_EQ(user.gid(), 1000);
    EXPECT_EQ(std::vector<int64_t>(user.supplemental_groups().begin(), user.supplemental_groups().end()), row.reported);
  }
}

TEST_F(PodSemanticsTest, ARecursiveReadOnlyMountMakesItsSubmountsReadOnlyToo) {
  v1::StatusRequest req;
  v1::StatusResponse resp;
  ASSERT_TRUE(d_->runtime()->Status(rpcContext().get(), req, &resp).ok());
  bool supported = false;
  for (const auto& h : resp.runtime_handlers())
    if (h.name().empty()) supported = h.features().recursive_read_only_mounts();
  // runc lists rro in `runc features` from 1.1 on, and this kernel has mount_setattr.
  ASSERT_TRUE(supported) << "the default handler should report recursive read-only mounts here";

  // A volume with a tmpfs mounted inside it.
  std::string volume = tmp_ / "rro-volume";
  ASSERT_TRUE(sys::mkdirAll(volume + "/tmpfs", 0755));
  ASSERT_EQ(::mount("none", (volume + "/tmpfs").c_str(), "tmpfs", 0, nullptr), 0) << strerror(errno);
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{volume + "/tmpfs"};
  auto withVolume = [&](const std::string& name, bool recursive) {
    auto cfg = config(name, {"sleep", "3600"});
    auto* m = cfg.add_mounts();
    m->set_host_path(volume);
    m->set_container_path("/mnt");
    m->set_readonly(true);
    m->set_recursive_read_only(recursive);
    return cfg;
  };
  std::string plain = run(withVolume("ro", false));
  std::string recursive = run(withVolume("rro", true));
  // Read-only on top either way; the submount only under rro.
  EXPECT_EQ(exec(plain, {"sh", "-c", "touch /mnt/x 2>&1 || true"}), "touch: /mnt/x: Read-only file system");
  EXPECT_EQ(exec(plain, {"sh", "-c", "touch /mnt/tmpfs/x && echo written"}), "written");
  EXPECT_EQ(exec(recursive, {"sh", "-c", "touch /mnt/tmpfs/y 2>&1 || true"}),
            "touch: /mnt/tmpfs/y: Read-only file system");

  // What the CRI forbids: writable, or propagation other than private.
  auto writable = withVolume("rro-rw", true);
  writable.mutable_mounts(0)->set_readonly(false);
  auto slave = withVolume("rro-slave", true);
  slave.mutable_mounts(0)->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  for (const auto* bad : {&writable, &slave}) {
    auto s = create(*bad, nullptr);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find("recursive_read_only needs"), std::string::npos) << s.error_message();
  }
}

TEST_F(PodSemanticsTest, CdiDevicesBringTheirNodesMountsEnvironmentAndHooks) {
  std::string share = tmp_ / "cdi-share", hooked = tmp_ / "hooked";
  ASSERT_TRUE(sys::mkdirAll(share, 0755));
  ASSERT_TRUE(sys::writeFileAtomic(share + "/f", "shared\n"));
  ASSERT_TRUE(sys::mkdirAll(tmp_ / "cdi", 0755));
  nlohmann::json spec = {
      {"cdiVersion", "0.6.0"},
      {"kind", "crix.test/dev"},
      {"containerEdits", {{"env", {"CRIX_CDI_SPEC=1"}}}},
      {"devices",
       {{{"name", "null"},
         {"containerEdits",
          {{"deviceNodes", {{{"path", "/dev/crix-null"}, {"hostPath", "/dev/null"}}}},
           {"env", {"CRIX_CDI=yes"}},
           {"mounts", {{{"hostPath", share}, {"containerPath", "/cdi-share"}, {"options", {"ro", "nosuid"}}}}},
           {"hooks",
            {{{"hookName", "poststart"},
              {"path", "/bin/sh"},
              {"args", {"sh", "-c", "echo hooked > " + hooked}}}}}}}}}}};
  ASSERT_TRUE(sys::writeFileAtomic(tmp_ / "cdi/crix.json", spec.dump()));
  // A YAML spec is named when a device is not found.
  ASSERT_TRUE(sys::writeFileAtomic(tmp_ / "cdi/vendor.yaml", "cdiVersion: 0.6.0\n"));

  auto cfg = config("cdi", {"sleep", "3600"});
  cfg.add_cdi_devices()->set_name("crix.test/dev=null");
  std::string id = run(cfg);
  EXPECT_EQ(exec(id, {"sh", "-c", "echo x > /dev/crix-null && echo $CRIX_CDI $CRIX_CDI_SPEC && cat /cdi-share/f"}),
            "yes 1\nshared");
  EXPECT_EQ(exec(id, {"sh", "-c", "touch /cdi-share/g 2>&1 || true"}), "touch: /cdi-share/g: Read-only file system");
  EXPECT_EQ(sys::readFile(hooked).value_or(""), "hooked\n");
  // The older annotation form names the same device.
  auto annotated = config("cdi-annotated", {"sleep", "3600"});
  (*annotated.mutable_annotations())["cdi.k8s.io/test"] = "crix.test/dev=null";
  std::string other = run(annotated);
  EXPECT_EQ(exec(other, {"sh", "-c", "ls /dev/crix-null"}), "/dev/crix-null");

  auto unknown = config("cdi-unknown", {"sleep", "3600"});
  unknown.add_cdi_devices()->set_name("crix.test/dev=missing");
  auto s = create(unknown, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("crix.test/dev=missing is defined by no spec"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("vendor.yaml"), std::string::npos) << s.error_message();
}

TEST_F(PodSemanticsTest, ProfilesCrixCannotApplyAreRefusedWithTheReason) {
  auto localhost = config("aa", {"sleep", "1"});
  auto* aa = localhost.mutable_linux()->mutable_security_context()->mutable_apparmor();
  aa->set_profile_type(v1::SecurityProfile::Localhost);
  aa->set_localhost_ref("k8s-nginx");
  auto s = create(localhost, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("k8s-nginx"), std::string::npos) << s.error_message();

  auto labelled = config("se", {"sleep", "1"});
  labelled.mutable_linux()->mutable_security_context()->mutable_selinux_options()->set_type("container_t");
  s = create(labelled, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("SELinux"), std::string::npos) << s.error_message();

  v1::RunPodSandboxRequest run;
  *run.mutable_config() = podConfig_;
  run.mutable_config()->mutable_metadata()->set_name("labelled-pod");
  run.mutable_config()->mutable_linux()->mutable_security_context()->mutable_selinux_options()->set_level("s0:c1");
  v1::RunPodSandboxResponse ran;
  s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), run, &ran);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();

  // What needs no profile runs.
  auto runtimeDefault = config("rd", {"sleep", "3600"});
  runtimeDefault.mutable_linux()->mutable_security_context()->mutable_apparmor()->set_profile_type(
      v1::SecurityProfile::RuntimeDefault);
  std::string id;
  s = create(runtimeDefault, &id);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(PodSemanticsTest, VerboseStatusCarriesTheRuntimeSpec) {
  std::string id = run(config("spec", {"sleep", "3600"}));
  auto info = verboseInfo(id);
  ASSERT_TRUE(info.is_object());
  ASSERT_TRUE(info.contains("runtimeSpec"));
  const auto& spec = info["runtimeSpec"];
  EXPECT_EQ(spec["process"]["args"], nlohmann::json::array({"sleep", "3600"}));
  bool joinsIpc = false;
  for (const auto& n : spec["linux"]["namespaces"])
    if (n["type"] == "ipc") joinsIpc = n.value("path", "") == statePath("ipcns");
  EXPECT_TRUE(joinsIpc) << spec["linux"]["namespaces"].dump();
  EXPECT_GT(info.value("pid", 0), 0);
}

// An image's declared volume over a populated directory starts with the
// image's files there (copy-up), owners and modes kept; what the container
// writes goes to the volume, not the image's layer.
TEST_F(PodSemanticsTest, AnImageVolumeStartsWithTheImagesFilesThere) {
  auto c = config("vol", {"sh", "-c",
                          "grep -c ' /data ' /proc/mounts; cat /data/dir1/a; ls -ln /data/owned /data/suid; "
                          "readlink /data/link; readlink /data/abslink; ls /data; echo new > /data/new"});
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-vol:1"));
  v1::PullImageResponse pulled;
  ASSERT_TRUE(d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled).ok());
  c.mutable_image()->set_image(pull.image().image());
  c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  std::string id;
  auto s = create(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(start(id).ok());
  auto st = waitExit(id);
  EXPECT_EQ(st.exit_code(), 0);
  std::string log = sys::readFile(st.log_path()).value_or("");
  EXPECT_NE(log.find("stdout F 1\n"), std::string::npos) << "/data is a mount: " << log;
  EXPECT_NE(log.find("stdout F a, modified by the changes layer"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F -rw-r-----    1 1000     2000"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F -rwsr-xr-x"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F dir1/a"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F /data/dir1/b"), std::string::npos) << log;
  EXPECT_EQ(log.find("removeme"), std::string::npos) << "a whiteout stays a whiteout: " << log;
  EXPECT_TRUE(std::filesystem::exists(d_->root() + "/containers/" + id + "/volumes/0/new"));
  EXPECT_FALSE(std::filesystem::exists(d_->root() + "/containers/" + id + "/upper/data/new"));
}

// The kubelet shows ContainerStatus.image_ref as the pod's imageID: the
// repo digest of what it pulled, as both peers report it; image_id is the
// image's own id.
TEST_F(PodSemanticsTest, ImageRefIsTheRepoDigestOfTheImageAskedFor) {
  std::string id = run(config("ref", {"sleep", "3600"}));
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
  v1::ImageStatusResponse img;
  ASSERT_TRUE(d_->images()->ImageStatus(rpcContext().get(), req, &img).ok());
  ASSERT_GE(img.image().repo_digests_size(), 1);
  auto st = status(id);
  EXPECT_EQ(st.image_ref(), img.image().repo_digests(0));
  EXPECT_EQ(st.image_ref().rfind(TestRegistry::get().ref("crix/busybox-user@sha256:"), 0), 0u) << st.image_ref();
  EXPECT_EQ(st.image_id(), img.image().id());

  // Kept in the container's row: the same after a restart.
  EXPECT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  EXPECT_EQ(status(id).image_ref(), img.image().repo_digests(0));
}

// Image volumes (KEP-4639): an image the kubelet pulled, mounted read-only
// with its layers merged (whiteouts applied), or a directory in it; the
// image stays while a container mounts it.
TEST_F(PodSemanticsTest, AnImageVolumeMountsThePulledImageReadOnly) {
  auto& reg = TestRegistry::get();
  for (const char* image : {"crix/busybox:1.35", "crix/busybox-dyn:1", "crix/pause:1"}) {
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(reg.ref(image));
    v1::PullImageResponse pulled;
    ASSERT_TRUE(d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled).ok()) << image;
  }
  auto volume = [&](v1::ContainerConfig& c, const std::string& at, const std::string& image,
                    const std::string& subPath = "") {
    auto* m = c.add_mounts();
    m->set_container_path(at);
    m->mutable_image()->set_image(reg.ref(image));
    m->set_image_sub_path(subPath);
  };
  auto c = config("volumes", {"sleep", "3600"});
  volume(c, "/bb", "crix/busybox:1.35");    // three layers, with whiteouts
  volume(c, "/dyn", "crix/busybox-dyn:1");  // two layers
  volume(c, "/pause", "crix/pause:1");      // one layer
  volume(c, "/dir1", "crix/busybox:1.35", "data/dir1");
  std::string id = run(c);

  EXPECT_EQ(exec(id, {"sh", "-c", "ls /bb/data/opaque; test -e /bb/data/removeme || echo whited-out"}),
            "z\nwhited-out");
  EXPECT_NE(exec(id, {"cat", "/dyn/etc/passwd"}).find("root:"), std::string::npos);
  EXPECT_EQ(exec(id, {"sh", "-c", "test -x /pause/bin/busybox && echo present"}), "present");
  EXPECT_EQ(exec(id, {"sh", "-c", "ls /dir1 | head -1"}), exec(id, {"sh", "-c", "ls /bb/data/dir1 | head -1"}));
  EXPECT_EQ(exec(id, {"sh", "-c",
                      "for d in /bb /dyn /pause /dir1; do touch $d/x 2>/dev/null && echo wrote $d; done; echo done"}),
            "done");
  auto st = status(id);
  int images = 0;
  for (const auto& m : st.mounts())
    if (!m.image().image().empty()) {
      ++images;
      EXPECT_TRUE(m.readonly()) << m.container_path();
    }
  EXPECT_EQ(images, 4);
  // The host keeps no mount of them: the container holds its own.
  EXPECT_EQ(sys::readFile("/proc/self/mountinfo").value_or("").find("volume-images"), std::string::npos);

  // The image stays while the container mounts it; then it can go.
  v1::RemoveImageRequest rmi;
  rmi.mutable_image()->set_image(reg.ref("crix/busybox-dyn:1"));
  v1::RemoveImageResponse rmiResp;
  auto s = d_->images()->RemoveImage(rpcContext().get(), rmi, &rmiResp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("mounted as a volume"), std::string::npos) << s.error_message();
  ASSERT_TRUE(stop(id, 5).ok());
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse rmResp;
  ASSERT_TRUE(d_->runtime()->RemoveContainer(rpcContext(30000).get(), rm, &rmResp).ok());
  s = d_->images()->RemoveImage(rpcContext().get(), rmi, &rmiResp);
  EXPECT_TRUE(s.ok()) << s.error_message();

  // Refused before anything is made, each with its reason.
  struct Bad {
    const char* image;
    const char* subPath;
    grpc::StatusCode code;
    const char* says;
  } bad[] = {
      {"crix/busybox-dyn:1", "", grpc::StatusCode::NOT_FOUND, "busybox-dyn:1\" is not present"},
      {"crix/busybox:1.35", "no/such/dir", grpc::StatusCode::INVALID_ARGUMENT, "is not in image"},
      {"crix/busybox:1.35", "../../..", grpc::StatusCode::INVALID_ARGUMENT, "leads out of the image"},
      {"crix/busybox:1.35", "/data", grpc::StatusCode::INVALID_ARGUMENT, "is not relative"},
  };
  for (const auto& b : bad) {
    auto c2 = config(std::string("bad") + std::to_string(&b - bad), {"sleep", "3600"});
    volume(c2, "/v", b.image, b.subPath);
    std::string none;
    s = create(c2, &none);
    EXPECT_EQ(s.error_code(), b.code) << b.image << " " << b.subPath << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(b.says), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(sys::readFile("/proc/self/mountinfo").value_or("").find("volume-images"), std::string::npos);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(tmp_ / "d/root/containers"))
    if (e.path().filename() != pod_) left.push_back(e.path().filename());  // the pod's infra container's is its own
  EXPECT_TRUE(left.empty()) << "container directories left by the refused ones: " << left.size();
}

class PrivilegedPodTest : public PodSemanticsTest {
 protected:
  void preparePod(v1::RunPodSandboxRequest& run) override {
    run.mutable_config()->mutable_linux()->mutable_security_context()->set_privileged(true);
  }
  // The options of the container's /sys mount ("rw,..." or "ro,...").
  std::string sysOptions(const std::string& id) {
    std::string line = exec(id, {"grep", " /sys ", "/proc/self/mountinfo"});
    std::istringstream words(line);
    std::vector<std::string> f;
    for (std::string w; words >> w;) f.push_back(w);
    return f.size() > 5 ? f[5] : line;
  }
};

TEST_F(PrivilegedPodTest, APrivilegedContainerGetsAWritableSysWhoeverMountedFirst) {
  // The unprivileged sidecar mounts the namespace's sysfs first, read-only.
  std::string plain = run(config("plain", {"sleep", "3600"}));
  auto priv = config("priv", {"sleep", "3600"});
  priv.mutable_linux()->mutable_security_context()->set_privileged(true);
  std::string privileged = run(priv);
  EXPECT_TRUE(sysOptions(plain).starts_with("ro")) << sysOptions(plain);
  EXPECT_TRUE(sysOptions(privileged).starts_with("rw")) << sysOptions(privileged);
  EXPECT_TRUE(std::filesystem::exists(tmp_ / ("d/run/pods/" + pod_ + "/sysfs/class/net/eth0")));
}

// In-place resize as the kubelet does it: the pod's cgroup is the
// kubelet's, so UpdatePodSandboxResources is kept in the pod's record; a
// container's UpdateContainerResources reaches its live cgroup and its
// status, the limits it leaves unset staying as they were.
class ResizeTest : public PodSemanticsTest {
 protected:
  void preparePod(v1::RunPodSandboxRequest& run) override {
    auto* linux = run.mutable_config()->mutable_linux();
    linux->mutable_resources()->set_cpu_shares(512);
    linux->mutable_resources()->set_memory_limit_in_bytes(256 << 20);
    linux->mutable_overhead()->set_cpu_shares(10);
  }
  nlohmann::json podInfo() {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod_);
    req.set_verbose(true);
    v1::PodSandboxStatusResponse resp;
    EXPECT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), req, &resp).ok());
    return nlohmann::json::parse(resp.info().at("info"));
  }
};

TEST_F(ResizeTest, AContainerResizeReachesItsCgroupAndStatusAndAPodResizeItsRecord) {
  if (!std::filesystem::exists("/sys/fs/cgroup/cpuset/cpuset.cpus"))
    GTEST_SKIP() << "reads the v1 cpu, cpuset and memory files; this host has no v1 cpuset hierarchy";
  auto c = config("resized", {"sleep", "3600"});
  auto* r = c.mutable_linux()->mutable_resources();
  r->set_cpu_shares(512);
  r->set_cpu_quota(50000);
  r->set_cpu_period(100000);
  r->set_memory_limit_in_bytes(64 << 20);
  r->set_cpuset_cpus("0");
  std::string id = run(c);

  std::string cpus = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? "0-1" : "0";
  v1::UpdateContainerResourcesRequest up;
  up.set_container_id(id);
  up.mutable_linux()->set_cpu_shares(1024);
  up.mutable_linux()->set_memory_limit_in_bytes(96 << 20);
  up.mutable_linux()->set_cpuset_cpus(cpus);
  v1::UpdateContainerResourcesResponse upResp;
  auto s = d_->runtime()->UpdateContainerResources(rpcContext(20000).get(), up, &upResp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(exec(id, {"cat", "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                      "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpuset/cpuset.cpus"}),
            "1024\n50000\n" + std::to_string(96 << 20) + "\n" + cpus);
  auto st = status(id);
  const auto& l = st.resources().linux();
  EXPECT_EQ(l.cpu_shares(), 1024);
  EXPECT_EQ(l.cpu_quota(), 50000) << "left unset by the update: kept";
  EXPECT_EQ(l.cpu_period(), 100000);
  EXPECT_EQ(l.memory_limit_in_bytes(), 96 << 20);
  EXPECT_EQ(l.cpuset_cpus(), cpus);

  // The pod: RunPodSandbox's limits, then the resize, in the record.
  auto before = podInfo()["config"];
  EXPECT_EQ(before["resources"]["cpuShares"], 512);
  EXPECT_EQ(before["overhead"]["cpuShares"], 10);
  v1::UpdatePodSandboxResourcesRequest pod;
  pod.set_pod_sandbox_id(pod_);
  pod.mutable_resources()->set_memory_limit_in_bytes(512 << 20);
  pod.mutable_overhead()->set_memory_limit_in_bytes(16 << 20);
  v1::UpdatePodSandboxResourcesResponse podResp;
  s = d_->runtime()->UpdatePodSandboxResources(rpcContext().get(), pod, &podResp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto after = podInfo()["config"];
  EXPECT_EQ(after["resources"]["cpuShares"], 512);
  EXPECT_EQ(after["resources"]["memoryLimit"], 512 << 20);
  EXPECT_EQ(after["overhead"]["cpuShares"], 10);
  EXPECT_EQ(after["overhead"]["memoryLimit"], 16 << 20);

  pod.set_pod_sandbox_id("0123456789abcdef");
  EXPECT_EQ(d_->runtime()->UpdatePodSandboxResources(rpcContext().get(), pod, &podResp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pod.set_pod_sandbox_id(pod_);
  pod.mutable_resources()->set_memory_limit_in_bytes(-1);
  EXPECT_EQ(d_->runtime()->UpdatePodSandboxResources(rpcContext().get(), pod, &podResp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::StopPodSandboxRequest stopReq;
  stopReq.set_pod_sandbox_id(pod_);
  v1::StopPodSandboxResponse stopResp;
  ASSERT_TRUE(d_->runtime()->StopPodSandbox(rpcContext(30000).get(), stopReq, &stopResp).ok());
  pod.mutable_resources()->set_memory_limit_in_bytes(1 << 30);
  EXPECT_EQ(d_->runtime()->UpdatePodSandboxResources(rpcContext().get(), pod, &podResp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace crix::test
