// Pod sandboxes against the real crixd, real network namespaces and the
// real CNI bridge, host-local and portmap plugins.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

std::string slurp(const std::string& p) {
  auto r = sys::readFile(p);
  return r ? *r : "";
}

// Host objects a pod could leak: mounts, pinned namespaces, veths.
struct HostSnapshot {
  int mounts = 0, veths = 0;
  static HostSnapshot take(const std::string& under) {
    HostSnapshot h;
    std::istringstream m(slurp("/proc/mounts"));
    for (std::string line; std::getline(m, line);) h.mounts += line.find(under) != std::string::npos;
    for (const auto& e : fs::directory_iterator("/sys/class/net"))
      h.veths += e.path().filename().string().starts_with("veth");
    return h;
  }
};

class PodTest : public DaemonTest {
 protected:
  void TearDown() override {
    d_.reset();
    (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
  }
  v1::PodSandboxConfig podConfig(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name + "-host");
    c.set_log_directory(tmp_ / ("logs/" + name));
    (*c.mutable_labels())["app"] = name;
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::CONTAINER);
    return c;
  }
  grpc::Status run(const v1::PodSandboxConfig& c, std::string* id, const std::string& handler = "") {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    req.set_runtime_handler(handler);
    v1::RunPodSandboxResponse resp;
    auto s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), req, &resp);
    if (id) *id = resp.pod_sandbox_id();
    return s;
  }
  grpc::Status stop(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    return d_->runtime()->StopPodSandbox(rpcContext(30000).get(), req, &resp);
  }
  grpc::Status remove(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    return d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), req, &resp);
  }
  grpc::Status status(const std::string& id, v1::PodSandboxStatusResponse* resp) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    return d_->runtime()->PodSandboxStatus(rpcContext().get(), req, resp);
  }
  std::vector<v1::PodSandbox> list(const v1::PodSandboxFilter& f = {}) {
    v1::ListPodSandboxRequest req;
    *req.mutable_filter() = f;
    v1::ListPodSandboxResponse resp;
    EXPECT_TRUE(d_->runtime()->ListPodSandbox(rpcContext().get(), req, &resp).ok());
    return {resp.items().begin(), resp.items().end()};
  }
  std::string netns(const std::string& id) { return tmp_ / ("d/run/netns/" + id); }
  sys::CommandResult inPod(const std::string& id, std::vector<std::string> cmd) {
    cmd.insert(cmd.begin(), {"/usr/bin/nsenter", "--net=" + netns(id)});
    auto r = sys::runCommand(cmd, {.timeout = std::chrono::seconds(10)});
    return r ? *r : sys::CommandResult{};
  }

  std::unique_ptr<Daemon> d_;
};

TEST_F(PodTest, RunInspectStopRemove) {
  d_ = startDaemon();
  auto before = HostSnapshot::take(tmp_.path());
  auto c = podConfig("web");
  c.mutable_dns_config()->add_servers("10.0.0.10");
  c.mutable_dns_config()->add_searches("svc.cluster.local");
  c.mutable_dns_config()->add_options("ndots:5");
  (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0";
  (*c.mutable_annotations())["a"] = "b";
  std::string id;
  auto s = run(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  ASSERT_EQ(id.size(), 64u);

  v1::PodSandboxStatusResponse st;
  ASSERT_TRUE(status(id, &st).ok());
  EXPECT_EQ(st.status().state(), v1::SANDBOX_READY);
  EXPECT_EQ(st.status().metadata().name(), "web");
  EXPECT_EQ(st.status().labels().at("app"), "web");
  EXPECT_EQ(st.status().annotations().at("a"), "b");
  EXPECT_EQ(st.status().runtime_handler(), "runc");
  EXPECT_EQ(st.status().linux().namespaces().options().pid(), v1::CONTAINER);
  EXPECT_GT(st.status().created_at(), 0);
  std::string ip = st.status().network().ip();
  EXPECT_TRUE(ip.starts_with("10.199.0.")) << ip;
  EXPECT_TRUE(st.info().contains("info"));

  // The namespace is real and holds the address; the sysctl is set in it only.
  auto addr = inPod(id, {"/sbin/ip", "-4", "addr", "show", "eth0"});
  EXPECT_NE(addr.out.find(ip + "/24"), std::string::npos) << addr.out << addr.err;
  EXPECT_NE(inPod(id, {"/sbin/ip", "link", "show", "lo"}).out.find("UP"), std::string::npos);
  EXPECT_EQ(inPod(id, {"/bin/cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"}).out, "0\n");
  EXPECT_NE(slurp("/proc/sys/net/ipv4/ip_unprivileged_port_start"), "0\n");
  std::string podDir = tmp_ / ("d/run/pods/" + id);
  EXPECT_EQ(slurp(podDir + "/hostname"), "web-host\n");
  EXPECT_EQ(slurp(podDir + "/resolv.conf"), "nameserver 10.0.0.10\nsearch svc.cluster.local\noptions ndots:5\n");
  EXPECT_NE(slurp(podDir + "/hosts").find(ip + "\tweb-host"), std::string::npos);
  EXPECT_NE(slurp("/proc/mounts").find(podDir + "/shm tmpfs"), std::string::npos);
  EXPECT_TRUE(fs::is_directory(tmp_ / "logs/web"));

  // The same metadata again is refused, naming the pod that has it.
  auto dup = run(c, nullptr);
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(dup.error_message().find(id), std::string::npos) << dup.error_message();

  ASSERT_TRUE(stop(id).ok());
  ASSERT_TRUE(status(id, &st).ok());
  EXPECT_EQ(st.status().state(), v1::SANDBOX_NOTREADY);
  EXPECT_FALSE(fs::exists(netns(id)));
  EXPECT_TRUE(stop(id).ok());  // idempotent

  ASSERT_TRUE(remove(id).ok());
  EXPECT_EQ(status(id, &st).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(remove(id).ok());
  EXPECT_TRUE(stop(id).ok());
  EXPECT_TRUE(fs::is_empty(tmp_ / "d/run/pods"));
  EXPECT_TRUE(fs::is_empty(tmp_ / "d/root/cni"));
  auto after = HostSnapshot::take(tmp_.path());
  EXPECT_EQ(after.mounts, before.mounts);
  EXPECT_EQ(after.veths, before.veths);
  // The name is free again.
  EXPECT_TRUE(run(c, &id).ok());
}

TEST_F(PodTest, PodsReachEachOtherAndHostPorts) {
  d_ = startDaemon();
  std::string a, b;
  auto ca = podConfig("a");
  auto* pm = ca.add_port_mappings();
  pm->set_container_port(8080);
  pm->set_host_port(18080);
  ASSERT_TRUE(run(ca, &a).ok()) << d_->log();
  ASSERT_TRUE(run(podConfig("b"), &b).ok());
  v1::PodSandboxStatusResponse sa, sb;
  ASSERT_TRUE(status(a, &sa).ok());
  ASSERT_TRUE(status(b, &sb).ok());
  auto ping = inPod(a, {"/bin/busybox", "ping", "-c", "1", "-W", "3", sb.status().network().ip()});
  EXPECT_EQ(ping.exitCode, 0) << ping.out << ping.err;

  // A listener in pod a, reached through the host port on the bridge address.
  sys::CommandOptions listen{.timeout = std::chrono::seconds(10)};
  std::thread server([&] {
    (void)sys::runCommand(
        {"/usr/bin/nsenter", "--net=" + netns(a), "/bin/busybox", "nc", "-l", "-p", "8080", "-w", "5"},
        {.timeout = std::chrono::seconds(8), .stdinData = "hello from pod a\n"});
  });
  std::string reply;
  for (int i = 0; i < 50 && reply.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r =
        sys::runCommand({"/bin/busybox", "nc", "-w", "2", "10.199.0.1", "18080"}, {.timeout = std::chrono::seconds(4)});
    if (r) reply = r->out;
  }
  server.join();
  EXPECT_EQ(reply, "hello from pod a\n");
  (void)listen;
}

TEST_F(PodTest, ListFiltersAndRestart) {
  d_ = startDaemon();
  std::string a, b;
  ASSERT_TRUE(run(podConfig("one"), &a).ok());
  ASSERT_TRUE(run(podConfig("two"), &b).ok());
  ASSERT_TRUE(stop(b).ok());
  EXPECT_EQ(list().size(), 2u);
  v1::PodSandboxFilter byId;
  byId.set_id(a.substr(0, 12));
  ASSERT_EQ(list(byId).size(), 1u);
  EXPECT_EQ(list(byId)[0].id(), a);
  v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  ASSERT_EQ(list(ready).size(), 1u);
  v1::PodSandboxFilter byLabel;
  (*byLabel.mutable_label_selector())["app"] = "two";
  ASSERT_EQ(list(byLabel).size(), 1u);
  EXPECT_EQ(list(byLabel)[0].id(), b);
  // A short id works for the other calls too.
  v1::PodSandboxStatusResponse st;
  EXPECT_TRUE(status(a.substr(0, 12), &st).ok());

  // After a restart the pods are the same, in the same states, still reachable.
  EXPECT_EQ(d_->stop(), 0);
  ASSERT_TRUE(d_->start());
  auto again = list();
  ASSERT_EQ(again.size(), 2u);
  ASSERT_TRUE(status(a, &st).ok());
  EXPECT_EQ(st.status().state(), v1::SANDBOX_READY);
  EXPECT_TRUE(fs::exists(netns(a)));
  ASSERT_TRUE(remove(a).ok());
  ASSERT_TRUE(remove(b).ok());
  EXPECT_TRUE(list().empty());
}

TEST_F(PodTest, BadInputIsRefusedAndLeavesNothing) {
  d_ = startDaemon();
  auto before = HostSnapshot::take(tmp_.path());
  struct Row {
    const char* what;
    std::function<void(v1::PodSandboxConfig&)> edit;
    std::string handler;
    const char* why;
  } rows[] = {
      {"no name", [](auto& c) { c.mutable_metadata()->clear_name(); }, "", "needs a name"},
      {"no uid", [](auto& c) { c.mutable_metadata()->clear_uid(); }, "", "needs a name, a namespace and a uid"},
      {"relative log dir", [](auto& c) { c.set_log_directory("logs/x"); }, "", "not an absolute path"},
      {"unsafe sysctl", [](auto& c) { (*c.mutable_linux()->mutable_sysctls())["kernel.panic"] = "1"; }, "",
       "not namespaced"},
      {"net sysctl with host network",
       [](auto& c) {
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
         (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
       },
       "", "network namespace"},
      {"hostname on the host's network",
       [](auto& c) {
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
       },
       "", "cannot be set for a pod on the host's network"},
      {"unknown handler", [](auto&) {}, "kata", "unknown runtime handler \"kata\" (known: runc)"},
      {"systemd-style cgroup parent", [](auto& c) { c.mutable_linux()->set_cgroup_parent("kubepods.slice"); }, "",
       "not an absolute cgroupfs path"},
      {"bad dns server", [](auto& c) { c.mutable_dns_config()->add_servers("not-an-ip"); }, "", "not an IP address"},
  };
  for (const auto& row : rows) {
    auto c = podConfig("bad");
    row.edit(c);
    auto s = run(c, nullptr, row.handler);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << row.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(row.why), std::string::npos) << row.what << ": " << s.error_message();
  }
  EXPECT_TRUE(list().empty());
  auto after = HostSnapshot::take(tmp_.path());
  EXPECT_EQ(after.mounts, before.mounts);
  std::string id;
  EXPECT_TRUE(run(podConfig("bad"), &id).ok());  // the name was never kept
}

TEST_F(PodTest, AFailedCniAddRollsEverythingBack) {
  // A network whose second plugin does not exist: the bridge plugin runs,
  // then the chain fails, and everything must be undone.
  std::ofstream(cniDir_ + "/10-crix-test.conflist") << R"({"cniVersion":"1.0.0","name":"crix-test","plugins":[
        {"type":"bridge","bridge":"crixtest0","ipam":{"type":"host-local","subnet":"10.199.0.0/24","dataDir":")"
                                                    << tmp_ / "ipam"
                                                    << R"("}},{"type":"crix-no-such-plugin"}]})";
  d_ = startDaemon();
  auto before = HostSnapshot::take(tmp_.path());
  auto s = run(podConfig("x"), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error_message().find("crix-no-such-plugin"), std::string::npos) << s.error_message();
  EXPECT_TRUE(list().empty());
  EXPECT_TRUE(fs::is_empty(tmp_ / "d/run/pods"));
  EXPECT_TRUE(fs::is_empty(tmp_ / "d/run/netns"));
  auto after = HostSnapshot::take(tmp_.path());
  EXPECT_EQ(after.mounts, before.mounts);
  EXPECT_EQ(after.veths, before.veths);
  // The IP lease was given back.
  int leases = 0;
  for (const auto& e : fs::directory_iterator(tmp_ / "ipam/crix-test"))
    leases += e.path().filename().string().starts_with("10.199.");
  EXPECT_EQ(leases, 0);
}

}  // namespace
}  // namespace crix::test

#include "integration/registry_fixture.h"

namespace crix::test {
namespace {

TEST_F(PodTest, SharedPidNamespaceRunsAnInfraContainer) {
  auto& reg = TestRegistry::get();
  ASSERT_TRUE(reg.ok()) << reg.error();
  d_ = startDaemon("[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml());
  auto before = HostSnapshot::take(tmp_.path());
  auto c = podConfig("shared");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string id;
  auto s = run(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();

  // conmon parents the pause process, which runs in the pod's network
  // namespace with the pod's hostname.
  auto conmonPid = sys::readFile(tmp_ / ("d/run/pods/" + id + "/infra/conmon.pid"));
  auto infraPid = sys::readFile(tmp_ / ("d/run/pods/" + id + "/infra/pidfile"));
  ASSERT_TRUE(conmonPid && infraPid);
  std::string infra = *infraPid;
  EXPECT_TRUE(fs::exists("/proc/" + infra));
  struct stat pinned {
  }, joined{};
  ASSERT_EQ(::stat(netns(id).c_str(), &pinned), 0);
  ASSERT_EQ(::stat(("/proc/" + infra + "/ns/net").c_str(), &joined), 0);
  EXPECT_EQ(pinned.st_ino, joined.st_ino);
  auto inNet = sys::runCommand({"/usr/bin/nsenter", "-t", infra, "-n", "-u", "/bin/hostname"});
  ASSERT_TRUE(inNet);
  EXPECT_EQ(inNet->out, "shared-host\n");
  auto ip = sys::runCommand({"/usr/bin/nsenter", "-t", infra, "-n", "/sbin/ip", "-4", "-o", "addr", "show", "eth0"});
  v1::PodSandboxStatusResponse st;
  ASSERT_TRUE(status(id, &st).ok());
  EXPECT_NE(ip->out.find(st.status().network().ip()), std::string::npos) << ip->out;
  EXPECT_EQ(st.status().linux().namespaces().options().pid(), v1::POD);

  ASSERT_TRUE(stop(id).ok());
  EXPECT_FALSE(fs::exists("/proc/" + infra));
  ASSERT_TRUE(remove(id).ok());
  std::string conmon = *conmonPid;
  for (int i = 0; i < 100 && fs::exists("/proc/" + conmon); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fs::exists("/proc/" + conmon));
  EXPECT_TRUE(fs::is_empty(tmp_ / "d/root/containers"));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/crix/crix-" + id));
  auto after = HostSnapshot::take(tmp_.path());
  EXPECT_EQ(after.mounts, before.mounts);
  EXPECT_EQ(after.veths, before.veths);
}

}  // namespace
}  // namespace crix::test
