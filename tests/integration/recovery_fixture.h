// RecoveryFixture: crixd daemons that get killed and restarted on one root,
// CRI helpers for pods with an infra container and a sleeping container,
// and a census of everything on the host that such pods could leak.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {

namespace v1 = ::runtime::v1;

// A bridge and subnet of their own: other tests on this host share crixtest0.
inline constexpr const char* kBridge = "crixrec0";

// Objects on the host that belong to one test root.
struct HostState {
  int mounts = 0;       // mount points under the root
  int bridgePorts = 0;  // veths on the test bridge
  int netnsPins = 0;
  int usernsPins = 0;
  int leases = 0;         // host-local IP leases
  int files = 0;          // entries in the per-object directories
  int conmons = 0;        // conmon processes carrying the root's paths
  int processes = 0;      // processes in the cgroups of the test's ids
  int cgroups = 0;        // cgroup directories of the test's ids, all hierarchies
  std::string fileNames;  // those entries, to say what was left

  static constexpr const char* kObjectDirs[] = {"/d/root/containers",  "/d/run/containers", "/d/run/pods",
                                                "/d/root/cni",         "/d/run/exits",      "/d/run/attach",
                                                "/d/run/runtimes/runc"};

  static int count(const std::string& dir, const std::string& prefix = "") {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      n += e.path().filename().string().starts_with(prefix);
    return n;
  }

  // The crix-<id> part of a process's cgroup, or "" (also for zombies:
  // they run nothing and go when their parent reaps them).
  static std::string cgroupId(int pid) {
    auto stat = sys::readFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat || stat->find(") Z ") != std::string::npos) return "";
    auto text = sys::readFile("/proc/" + std::to_string(pid) + "/cgroup");
    if (!text) return "";
    auto at = text->find("/crix-");
    if (at == std::string::npos) return "";
    return text->substr(at + 6, 64);
  }

  static HostState take(const std::string& under, const std::set<std::string>& ids) {
    HostState h;
    std::istringstream m(*sys::readFile("/proc/mounts"));
    for (std::string line; std::getline(m, line);) h.mounts += line.find(under) != std::string::npos;
    h.bridgePorts = count("/sys/class/net/" + std::string(kBridge) + "/brif");
    h.netnsPins = count(under + "/d/run/netns");
    h.usernsPins = count(under + "/d/run/userns");
    h.leases = count(under + "/ipam/crix-test", "10.198.");
    std::error_code ec;
    for (const char* d : kObjectDirs)
      for (const auto& e : std::filesystem::directory_iterator(under + d, ec)) {
        ++h.files;
        h.fileNames += " " + std::string(d) + "/" + e.path().filename().string();
      }
    for (int pid : sys::listPids()) {
      auto args = sys::processArgs(pid);
      if (!args.empty() && args[0].find("conmon") != std::string::npos) {
        bool ours = false;
        for (const auto& a : args) ours = ours || a.find(under) != std::string::npos;
        h.conmons += ours;
      }
      if (ids.count(cgroupId(pid))) ++h.processes;
    }
    for (const auto& id : ids)
      for (const auto& hier : std::filesystem::directory_iterator("/sys/fs/cgroup", ec))
        h.cgroups += std::filesystem::exists(hier.path() / "crix" / ("crix-" + id));
    return h;
  }

  std::string describe() const {
    std::ostringstream o;
    o << "mounts=" << mounts << " bridge_ports=" << bridgePorts << " netns=" << netnsPins << " userns=" << usernsPins
      << " leases=" << leases << " files=" << files << fileNames << " conmons=" << conmons << " processes=" << processes
      << " cgroups=" << cgroups;
    return o.str();
  }
};

class RecoveryFixture : public DaemonTest {
 protected:
  void SetUp() override {
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
    config_ = "[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml();
    std::ofstream(cniDir_ + "/10-crix-test.conflist") << R"({"cniVersion": "1.0.0", "name": "crix-test", "plugins": [
      {"type": "bridge", "bridge": ")" << kBridge << R"(", "isGateway": true,
       "ipam": {"type": "host-local", "subnet": "10.198.0.0/24", "dataDir": ")"
                                                      << tmp_ / "ipam"
                                                      << R"("}}]})";
  }
  void TearDown() override { (void)sys::runCommand({"/sbin/ip", "link", "del", kBridge}); }

  // A crixd that kills itself at `point`.
  std::unique_ptr<Daemon> startArmed(const std::string& point) {
    setenv("CRIX_FAULT", point.c_str(), 1);
    auto d = std::make_unique<Daemon>(tmp_ / "d", config(config_));
    bool ok = d->start();
    unsetenv("CRIX_FAULT");
    return ok ? std::move(d) : nullptr;
  }

  grpc::Status pullBusybox(Daemon& d) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
    v1::PullImageResponse resp;
    return d.images()->PullImage(rpcContext(60000).get(), req, &resp);
  }
  // With `infra`, the pod shares one PID namespace and so runs an infra
  // container; without, only its namespaces are pinned (the default).
  v1::PodSandboxConfig podConfig(const std::string& name, bool infra = true) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_log_directory(tmp_ / ("logs/" + name));
    auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_pid(infra ? v1::POD : v1::CONTAINER);
    if (userns_) {
      auto* u = ns->mutable_userns_options();
      u->set_mode(v1::POD);
      for (auto* m : {u->add_uids(), u->add_gids()}) {
        m->set_host_id(400000);
        m->set_length(65536);
      }
    }
    return c;
  }
  grpc::Status runPod(Daemon& d, const std::string& name, std::string* id, bool infra = true) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = podConfig(name, infra);
    v1::RunPodSandboxResponse resp;
    auto s = d.runtime()->RunPodSandbox(rpcContext(60000).get(), req, &resp);
    *id = resp.pod_sandbox_id();
    return s;
  }
  grpc::Status createContainer(Daemon& d, const std::string& pod, const std::string& podName, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("sleeper");
    c->mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
    for (const char* a : {"sleep", "300"}) c->add_command(a);
    c->set_log_path("sleeper.log");
    *req.mutable_sandbox_config() = podConfig(podName);
    v1::CreateContainerResponse resp;
    auto s = d.runtime()->CreateContainer(rpcContext(60000).get(), req, &resp);
    *id = resp.container_id();
    return s;
  }
  grpc::Status startContainer(Daemon& d, const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    return d.runtime()->StartContainer(rpcContext(60000).get(), req, &resp);
  }
  grpc::Status stopPod(Daemon& d, const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    return d.runtime()->StopPodSandbox(rpcContext(60000).get(), req, &resp);
  }
  std::vector<v1::PodSandbox> listPods(Daemon& d) {
    v1::ListPodSandboxResponse resp;
    EXPECT_TRUE(d.runtime()->ListPodSandbox(rpcContext().get(), {}, &resp).ok());
    return {resp.items().begin(), resp.items().end()};
  }
  std::vector<v1::Container> listContainers(Daemon& d) {
    v1::ListContainersResponse resp;
    EXPECT_TRUE(d.runtime()->ListContainers(rpcContext().get(), {}, &resp).ok());
    return {resp.containers().begin(), resp.containers().end()};
  }
  void removeAll(Daemon& d) {
    for (const auto& p : listPods(d)) {
      v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(p.id());
      v1::RemovePodSandboxResponse resp;
      auto s = d.runtime()->RemovePodSandbox(rpcContext(60000).get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    EXPECT_TRUE(listPods(d).empty());
    EXPECT_TRUE(listContainers(d).empty());
  }

  // The ids that the root's directories name, for the cgroup and process census.
  void rememberIds() {
    for (const char* dir : {"/d/root/containers", "/d/run/containers", "/d/run/pods", "/d/run/netns",
                            "/d/run/runtimes/runc", "/d/run/exits"}) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(tmp_ / dir, ec))
        if (e.path().filename().string().size() == 64) cgroupIds_.insert(e.path().filename().string());
    }
  }

  // Container (and infra) processes of the test's ids that no running
  // container or ready pod accounts for.
  int unlistedContainerProcesses(const std::vector<v1::Container>& ctrs, const std::vector<v1::PodSandbox>& pods) {
    std::set<std::string> listed;
    for (const auto& c : ctrs)  // a created container's runtime init waits in its cgroup
      if (c.state() == v1::CONTAINER_RUNNING || c.state() == v1::CONTAINER_CREATED) listed.insert(c.id());
    for (const auto& p : pods)
      if (p.state() == v1::SANDBOX_READY) listed.insert(p.id());
    std::set<std::string> ours = cgroupIds_;
    for (const auto& c : ctrs) ours.insert(c.id());
    for (const auto& p : pods) ours.insert(p.id());
    int n = 0;
    for (int pid : sys::listPids()) {
      std::string id = HostState::cgroupId(pid);
      if (!ours.count(id) || listed.count(id)) continue;
      ++n;
      auto args = sys::processArgs(pid);
      std::fprintf(stderr, "unlisted process %d of %s: %s\n", pid, id.c_str(), args.empty() ? "?" : args[0].c_str());
    }
    return n;
  }

  std::string config_;   // TOML beyond the base configuration
  bool userns_ = false;  // pods get a user namespace of their own
  std::set<std::string> cgroupIds_;
};

}  // namespace crix::test
