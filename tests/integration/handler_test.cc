// Runtime handlers against the real crixd: a second runc-backed handler
// with its own rules, handlers that cannot run (a missing binary, crun on
// this host's hybrid cgroups), Status's handler list, and a gVisor pod
// under runsc (ptrace platform) whose containers share a volume and /dev/shm.
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cgroups/host_layout.h"
#include "integration/daemon_fixture.h"
#include "integration/pod_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;
using nlohmann::json;

json readJson(const std::string& path) {
  auto text = sys::readFile(path);
  return text ? json::parse(*text, nullptr, false) : json();
}

bool crunRefusesThisHost() {
  auto layout = cgroups::readHostLayout();
  return layout.mode == cgroups::HostMode::Hybrid && !layout.v2Controllers.empty();
}

using HandlerStatusTest = DaemonTest;

TEST_F(HandlerStatusTest, StatusListsEveryHandlerAndWhyOneCannotRun) {
  auto d = startDaemon(
      "[runtimes.runc2]\npath = \"runc\"\n"
      "[runtimes.gone]\npath = \"/nonexistent/runtime\"\n"
      "[runtimes.crun]\npath = \"crun\"\n"
      "[runtimes.nomonitor]\npath = \"runc\"\nmonitor_path = \"/nonexistent/conmon\"\n");
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  ASSERT_TRUE(d->runtime()->Status(rpcContext().get(), req, &resp).ok());
  std::vector<std::string> names;
  for (const auto& h : resp.runtime_handlers()) {
    names.push_back(h.name());
    // runc lists rro in `runc features`; crun 1.8 has no such command; the others cannot run.
    bool runc = h.name().empty() || h.name() == "runc" || h.name() == "runc2";
    EXPECT_EQ(h.features().recursive_read_only_mounts(), runc) << h.name();
    EXPECT_TRUE(h.features().user_namespaces()) << h.name();  // all OCI handlers; gVisor's would not
  }
  // The default first, under "" and its own name; then the rest by name.
  EXPECT_EQ(names, (std::vector<std::string>{"", "runc", "crun", "gone", "nomonitor", "runc2"}));

  json info = json::parse(resp.info().at("runtimeHandlers"));
  std::map<std::string, json> byName;
  for (const auto& h : info) byName[h["name"]] = h;
  EXPECT_TRUE(byName["runc"]["ready"]) << byName["runc"];
  EXPECT_TRUE(byName["runc"]["default"]);
  EXPECT_TRUE(byName["runc2"]["ready"]) << byName["runc2"];
  EXPECT_FALSE(byName["gone"]["ready"]);
  EXPECT_NE(byName["gone"]["reason"].get<std::string>().find("/nonexistent/runtime"), std::string::npos)
      << byName["gone"];
  EXPECT_FALSE(byName["nomonitor"]["ready"]);
  EXPECT_NE(byName["nomonitor"]["reason"].get<std::string>().find("monitor: "), std::string::npos)
      << byName["nomonitor"];
  if (sys::lookPath("crun") && crunRefusesThisHost()) {
    EXPECT_FALSE(byName["crun"]["ready"]);
    EXPECT_NE(byName["crun"]["reason"].get<std::string>().find("crun refuses this host's hybrid cgroups"),
              std::string::npos)
        << byName["crun"];
  }
  // The default handler is fine, so the runtime is ready.
  EXPECT_TRUE(resp.status().conditions(0).status()) << resp.status().conditions(0).message();
}

TEST_F(HandlerStatusTest, PodsAskingForABadHandlerAreRefused) {
  auto d = startDaemon("[runtimes.gone]\npath = \"/nonexistent/runtime\"\n[runtimes.crun]\npath = \"crun\"\n");
  auto run = [&](const std::string& handler) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("p-" + handler);
    c->mutable_metadata()->set_namespace_("default");
    c->mutable_metadata()->set_uid("uid-" + handler);
    req.set_runtime_handler(handler);
    v1::RunPodSandboxResponse resp;
    return d->runtime()->RunPodSandbox(rpcContext(30000).get(), req, &resp);
  };
  auto unknown = run("nope");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown.error_message().find("unknown runtime handler \"nope\" (known: crun, gone, runc)"),
            std::string::npos)
      << unknown.error_message();

  auto gone = run("gone");
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(gone.error_message().find("runtime handler gone cannot run"), std::string::npos) << gone.error_message();

  if (sys::lookPath("crun") && crunRefusesThisHost()) {
    auto crun = run("crun");
    EXPECT_EQ(crun.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(crun.error_message().find("crun refuses this host's hybrid cgroups"), std::string::npos)
        << crun.error_message();
  }
  v1::ListPodSandboxResponse listed;
  ASSERT_TRUE(d->runtime()->ListPodSandbox(rpcContext().get(), {}, &listed).ok());
  EXPECT_EQ(listed.items_size(), 0);  // nothing half-made is left
}

// A second runc-backed handler with runtime args, an annotation allow-list
// and privileged_without_host_devices.
class Runc2Test : public PodFixture {
 protected:
  std::string moreToml() override {
    // An operator's base spec: an rlimit that crix itself never sets.
    std::ofstream(tmp_ / "base.json") << R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4242, )"
                                      << R"("soft": 4242}], "cwd": "/nowhere"}, "annotations": {"from.base": "1"}})";
    return "[runtimes.runc2]\npath = \"runc\"\nruntime_args = [\"--log-format=json\"]\n"
           "allowed_annotations = [\"io.example.*\"]\nprivileged_without_host_devices = true\n"
           "base_spec = \"" +
           std::string(tmp_ / "base.json") + "\"\n";
  }
  void preparePod(v1::RunPodSandboxRequest& run) override {
    run.set_runtime_handler("runc2");
    (*run.mutable_config()->mutable_annotations())["io.example.pod"] = "from-pod";
    (*run.mutable_config()->mutable_annotations())["other.pod"] = "kept-out";
  }
};

TEST_F(Runc2Test, ContainersRunUnderThePodsHandler) {
  auto c = config("two", {"sh", "-c", "echo under-runc2; ulimit -n; pwd"});
  (*c.mutable_annotations())["io.example.ctr"] = "from-ctr";
  (*c.mutable_annotations())["other.ctr"] = "kept-out";
  std::string id;
  auto s = create(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  // runc2 has its own --root, so the container is in its state, not runc's.
  EXPECT_TRUE(fs::exists(tmp_ / ("d/run/runtimes/runc2/" + id)));
  EXPECT_FALSE(fs::exists(tmp_ / ("d/run/runtimes/runc/" + id)));
  json spec = readJson(tmp_ / ("d/run/containers/" + id + "/config.json"));
  EXPECT_EQ(spec["annotations"]["io.example.pod"], "from-pod");
  EXPECT_EQ(spec["annotations"]["io.example.ctr"], "from-ctr");
  EXPECT_FALSE(spec["annotations"].contains("other.pod"));
  EXPECT_FALSE(spec["annotations"].contains("other.ctr"));
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.sandbox-id"], pod_);
  EXPECT_EQ(spec["annotations"]["from.base"], "1");        // the base spec is under ours
  EXPECT_EQ(spec["process"]["rlimits"][0]["hard"], 4242);  // what we do not set is the base's
  EXPECT_EQ(spec["process"]["cwd"], "/home/crix");         // what we set is ours (the image's)
  ASSERT_TRUE(start(id).ok());
  auto st = waitExit(id);
  EXPECT_EQ(st.exit_code(), 0);
  std::string log = sys::readFile(st.log_path()).value_or("");
  EXPECT_NE(log.find(" stdout F under-runc2\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout F 4242\n"), std::string::npos) << log;
}

// crun where the cgroups allow it: packaging/crun-v1 runs crun in a mount
// namespace without the hybrid v2 hierarchy, so that crun manages v1 only.
// The pod shares its PID namespace, so the infra container runs too.
class CrunTest : public PodFixture {
 protected:
  void SetUp() override {
    if (!sys::lookPath("crun") || !sys::lookPath("unshare")) GTEST_SKIP() << "crun or unshare is not installed";
    PodFixture::SetUp();
  }
  std::string moreToml() override {
    return "[runtimes.crun]\npath = \"" + std::string(CRIX_SOURCE_DIR) + "/packaging/crun-v1\"\n";
  }
  void preparePod(v1::RunPodSandboxRequest& run) override {
    run.set_runtime_handler("crun");
    run.mutable_config()->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::NamespaceMode::POD);
  }
};

TEST_F(CrunTest, APodRunsUnderCrun) {
  std::string id;
  auto s = create(config("c", {"sh", "-c", "echo under-crun; grep -c . /proc/self/cgroup; exit 4"}), &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  EXPECT_TRUE(fs::exists(tmp_ / ("d/run/runtimes/crun/" + id)));  // crun's own state
  auto started = start(id);
  ASSERT_TRUE(started.ok()) << started.error_message() << d_->log();
  auto st = waitExit(id);
  EXPECT_EQ(st.exit_code(), 4);
  std::string log = sys::readFile(st.log_path()).value_or("");
  EXPECT_NE(log.find(" stdout F under-crun\n"), std::string::npos) << log;
}

// gVisor: runsc on the ptrace platform. The pod's EmptyDir "cache" lives in
// a kubelet-style pods directory; /dev/shm is the pod's. --network=host: the
// sandbox still joins the pod's network namespace and uses it through the
// host stack there. runsc's own netstack (--network=sandbox) fails on this
// machine with "cannot run with network enabled in root network namespace":
// Debian's runsc (20221219) takes /proc/sys/net/core/rmem_default as the
// sign of the root namespace, and this kernel shows it in every namespace.
class GvisorTest : public PodFixture {
 protected:
  void SetUp() override {
    if (!sys::lookPath("runsc")) GTEST_SKIP() << "runsc is not installed (Debian package runsc)";
    fs::create_directories(emptyDir());
    PodFixture::SetUp();
  }
  std::string podsDir() const { return tmp_ / "kubelet/pods"; }
  std::string emptyDir() const { return podsDir() + "/pod-uid/volumes/kubernetes.io~empty-dir/cache"; }
  std::string moreToml() override {
    return "[runtime]\nkubelet_pods_dir = \"" + podsDir() +
           "\"\n[runtimes.gvisor]\npath = \"runsc\"\n"
           "runtime_args = [\"--platform=ptrace\", \"--network=host\"]\n"
           "allowed_annotations = [\"dev.gvisor.*\"]\n";
  }
  void preparePod(v1::RunPodSandboxRequest& run) override {
    run.set_runtime_handler("gvisor");
    // The kubelet's layout: <logs>/<namespace>_<name>_<uid>.
    run.mutable_config()->set_log_directory(tmp_ / "logs/default_pod_pod-uid");
    auto& a = *run.mutable_config()->mutable_annotations();
    // An EmptyDir with medium Memory, as the admission controller hints it.
    // (A disk EmptyDir, hinted "bind", is a tmpfs hint over a bind mount,
    // which Debian's runsc 20221219 cannot mount: "gofer mount requires a
    // connection FD"; newer runsc can.)
    a["dev.gvisor.spec.mount.cache.type"] = "tmpfs";
    a["dev.gvisor.spec.mount.cache.share"] = "pod";
    a["dev.gvisor.spec.mount.cache.options"] = "rw";
  }
  v1::ContainerConfig withCache(v1::ContainerConfig c) {
    auto* m = c.add_mounts();
    m->set_container_path("/cache");
    m->set_host_path(emptyDir());
    return c;
  }
  std::string exec(const std::string& id, const std::string& script, int* code = nullptr) {
    v1::ExecSyncRequest ex;
    ex.set_container_id(id);
    for (const char* a : {"sh", "-c"}) ex.add_cmd(a);
    ex.add_cmd(script);
    ex.set_timeout(20);
    v1::ExecSyncResponse out;
    auto s = d_->runtime()->ExecSync(rpcContext(30000).get(), ex, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (code) *code = out.exit_code();
    return out.stdout() + out.stderr();
  }
};

TEST_F(GvisorTest, TwoContainersShareAVolumeAndShm) {
  // The infra container made the sandbox, with the hints runsc reads.
  json sandbox = readJson(tmp_ / ("d/run/pods/" + pod_ + "/infra/config.json"));
  const auto& a = sandbox["annotations"];
  EXPECT_EQ(a["io.kubernetes.cri.container-type"], "sandbox");
  EXPECT_EQ(a["io.kubernetes.cri.sandbox-id"], pod_);
  EXPECT_EQ(a["dev.gvisor.spec.mount.cache.source"], emptyDir());
  EXPECT_EQ(a["dev.gvisor.spec.mount.cache.type"], "tmpfs");  // an EmptyDir
  EXPECT_EQ(a["dev.gvisor.spec.mount.gvisorinternaldevshm.type"], "tmpfs");
  EXPECT_EQ(a["dev.gvisor.spec.mount.gvisorinternaldevshm.share"], "pod");
  EXPECT_EQ(a["dev.gvisor.spec.mount.gvisorinternaldevshm.source"], tmp_ / ("d/run/pods/" + pod_ + "/shm"));

  std::string writer, reader;
  auto s = create(withCache(config("writer", {"sh", "-c",
                                              "echo from-writer > /cache/note; echo shm-note > /dev/shm/note; "
                                              "dmesg | head -n 1; sleep 300"})),
                  &writer);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  json spec = readJson(tmp_ / ("d/run/containers/" + writer + "/config.json"));
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.container-type"], "container");
  EXPECT_EQ(spec["annotations"]["io.kubernetes.cri.sandbox-id"], pod_);
  for (const auto& m : spec["mounts"]) {
    if (m["destination"] == "/dev/shm") {
      EXPECT_EQ(m["type"], "tmpfs") << m;
    }
    if (m["destination"] == "/cache") {
      EXPECT_EQ(m["type"], "tmpfs") << m;  // as hinted
    }
  }
  auto started = start(writer);
  ASSERT_TRUE(started.ok()) << started.error_message() << d_->log();
  s = create(withCache(config("reader", {"sleep", "300"})), &reader);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  started = start(reader);
  ASSERT_TRUE(started.ok()) << started.error_message() << d_->log();

  std::string seen;
  for (int i = 0; i < 100 && seen.find("from-writer") == std::string::npos; ++i) {
    seen = exec(reader, "cat /cache/note /dev/shm/note 2>&1");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(seen.find("from-writer"), std::string::npos) << seen;
  EXPECT_NE(seen.find("shm-note"), std::string::npos) << seen;
  // /dev/shm is a tmpfs inside the sandbox (shm_open needs one there).
  EXPECT_NE(exec(reader, "grep ' /dev/shm ' /proc/mounts").find("tmpfs"), std::string::npos);
  // The kernel the containers see is gVisor's.
  std::string log;
  for (int i = 0; i < 100 && log.find("gVisor") == std::string::npos; ++i) {
    log = sys::readFile(status(writer).log_path()).value_or("");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(log.find("gVisor"), std::string::npos) << log;
}

TEST_F(GvisorTest, ExitCodesLogsAndStop) {
  // conmon reaps the start shim's waiter: the container's own status.
  std::string quick, sleeper;
  ASSERT_TRUE(create(config("quick", {"sh", "-c", "echo out; echo err >&2; exit 3"}), &quick).ok()) << d_->log();
  auto started = start(quick);
  ASSERT_TRUE(started.ok()) << started.error_message();
  auto st = waitExit(quick);
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 3);
  std::string log = sys::readFile(st.log_path()).value_or("");
  EXPECT_NE(log.find(" stdout F out\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stderr F err\n"), std::string::npos) << log;

  ASSERT_TRUE(create(config("sleeper", {"sleep", "300"}), &sleeper).ok());
  ASSERT_TRUE(start(sleeper).ok());
  int code = 0;
  EXPECT_EQ(exec(sleeper, "echo -n in-gvisor; exit 7", &code), "in-gvisor");
  EXPECT_EQ(code, 7);
  v1::StopContainerRequest stop;
  stop.set_container_id(sleeper);
  stop.set_timeout(5);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(30000).get(), stop, &stopped).ok());
  EXPECT_EQ(status(sleeper).state(), v1::CONTAINER_EXITED);

  auto tty = config("tty", {"sh"});
  tty.set_tty(true);
  auto refused = create(tty, nullptr);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("not supported under gVisor"), std::string::npos) << refused.error_message();
}

}  // namespace
}  // namespace crix::test
