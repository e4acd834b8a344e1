// KubeletFixture: a crixd with the test registry and busybox pulled, pods
// run with the requests KubeletRequests builds, and what the host shows of
// them: cgroup hierarchies, a process's cgroups, mounts. The kubelet would
// create and remove the pods' cgroups (kubepods/<qos>/pod<uid>); here the
// runtime creates them on its way, so TearDown removes them.
#pragma once

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.h"
#include "integration/kubelet_requests.h"
#include "integration/registry_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {

namespace v1 = ::runtime::v1;

inline std::string slurpFile(const std::string& path) {
  auto r = sys::readFile(path);
  return r ? *r : "";
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One cgroup hierarchy as /proc/self/mountinfo shows it.
struct CgroupMount {
  std::string root, mountPoint;
  bool v2 = false;
  std::set<std::string> options;  // super options: the v1 controllers, name=systemd
};

inline std::vector<CgroupMount> cgroupMounts() {
  std::vector<CgroupMount> out;
  std::istringstream lines(slurpFile("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> f;
    for (std::string w; words >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& type = dash[1];
    if (type != "cgroup" && type != "cgroup2") continue;
    CgroupMount m{f[3], f[4], type == "cgroup2", {}};
    std::istringstream opts(dash[3]);
    for (std::string o; std::getline(opts, o, ',');) m.options.insert(o);
    out.push_back(m);
  }
  return out;
}

// Whether the OCI runtime has a hugetlb controller for containers: a v1
// hierarchy with it, or a pure v2 host whose root offers it. A hybrid
// host's v2 hierarchy does not count: runc sets no limits there.
inline bool runtimeHasHugetlb() {
  for (const auto& m : cgroupMounts())
    if (!m.v2 && m.options.count("hugetlb")) return true;
  if (!cgroup2UnifiedMode()) return false;
  std::istringstream words(slurpFile("/sys/fs/cgroup/cgroup.controllers"));
  for (std::string w; words >> w;)
    if (w == "hugetlb") return true;
  return false;
}

// A process's cgroup in one hierarchy: its /proc/<pid>/cgroup line and
// the directory on the host that the line names.
struct ProcessCgroup {
  std::set<std::string> controllers;  // empty for the v2 line "0::"
  std::string path, dir;
};

inline std::vector<ProcessCgroup> processCgroups(int pid) {
  auto mounts = cgroupMounts();
  std::vector<ProcessCgroup> out;
  std::istringstream lines(slurpFile("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    ProcessCgroup c;
    std::istringstream names(line.substr(a + 1, b - a - 1));
    for (std::string n; std::getline(names, n, ',');) c.controllers.insert(n);
    c.path = line.substr(b + 1);
    for (const auto& m : mounts) {
      bool match = c.controllers.empty() ? m.v2 : !m.v2;
      for (const auto& n : c.controllers) match = match && m.options.count(n);
      if (!match) continue;
      std::string rel = c.path;
      if (m.root != "/" && rel.starts_with(m.root)) rel = rel.substr(m.root.size());
      c.dir = m.mountPoint + rel;
      break;
    }
    out.push_back(c);
  }
  return out;
}

// The directory of `pid`'s cgroup holding `controller` (v1), or its one
// cgroup on a pure v2 host; empty if there is none.
inline std::string cgroupDirOf(int pid, const std::string& controller) {
  bool v2 = cgroup2UnifiedMode();
  for (const auto& c : processCgroups(pid))
    if (v2 ? c.controllers.empty() : c.controllers.count(controller) > 0) return c.dir;
  return "";
}

// Mount points at or below any of `dirs`, one mountinfo line each.
inline std::vector<std::string> mountsUnder(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  std::istringstream lines(slurpFile("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string f[5];
    for (auto& w : f) words >> w;
    for (const auto& d : dirs)
      if (f[4] == d || f[4].starts_with(d + "/")) out.push_back(line);
  }
  return out;
}

class KubeletFixture : public DaemonTest {
 protected:
  // A pod run the kubelet's way, and its one container once created.
  struct RunningPod {
    KubeletRequests kubelet;
    std::string podId, containerId, podIp;
    v1::CreateContainerRequest createRequest;  // as sent
  };

  void SetUp() override {
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
    ASSERT_NO_FATAL_FAILURE(restart());
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(reg.ref("crix/busybox-user:1"));
    v1::PullImageResponse pulled;
    auto s = d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled);
    ASSERT_TRUE(s.ok()) << s.error_message();
    imageRef_ = pulled.image_ref();
    // The kubelet's getImageUser.
    v1::ImageStatusRequest st;
    st.mutable_image()->set_image(imageRef_);
    v1::ImageStatusResponse status;
    ASSERT_TRUE(d_->images()->ImageStatus(rpcContext().get(), st, &status).ok());
    if (status.image().has_uid()) imageUid_ = status.image().uid().value();
    imageUsername_ = status.image().username();
  }

  void TearDown() override {
    d_.reset();  // removes the test's pods
    (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
    removePodCgroups();
  }

  // (Re)starts crixd on the fixture's directories with `runtimeToml` in
  // [runtime]; the old one removes its pods as it goes, the pulled image stays.
  void restart(const std::string& runtimeToml = "") {
    d_.reset();
    auto& reg = TestRegistry::get();
    std::string toml = "[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml() + "\n";
    if (!runtimeToml.empty()) toml += "[runtime]\n" + runtimeToml + "\n";
    d_ = startDaemon(toml);
    ASSERT_TRUE(d_->running());
  }

  // A pod of busybox whose container exits on SIGTERM at once, so that a
  // StopContainer with the kubelet's 30 s grace period returns quickly.
  KubeletPod pod(const std::string& name, QosClass qos) {
    KubeletPod p;
    p.name = name;
    p.uid = newPodUid();
    p.qos = qos;
    p.labels = {{"app", name}};
    p.image = imageRef_;
    p.userImage = TestRegistry::get().ref("crix/busybox-user:1");
    p.imageUid = imageUid_;
    p.imageUsername = imageUsername_;
    p.command = {"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"};
    uids_.push_back(p.uid);
    return p;
  }
  KubeletNode node() const { return {.podsDir = tmp_ / "kubelet/pods", .podLogsDir = tmp_ / "log/pods"}; }

  // RunPodSandbox, PodSandboxStatus for the IP, the kubelet's etc-hosts,
  // then (unless `containerToo` is false) CreateContainer and StartContainer.
  void runPod(RunningPod& p, bool containerToo = true) {
    v1::RunPodSandboxResponse ran;
    auto s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), p.kubelet.runPodSandbox(), &ran);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    p.podId = ran.pod_sandbox_id();
    v1::PodSandboxStatusRequest st;
    st.set_pod_sandbox_id(p.podId);
    v1::PodSandboxStatusResponse status;
    ASSERT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), st, &status).ok());
    p.podIp = status.status().network().ip();
    std::ofstream(p.kubelet.etcHostsPath(), std::ios::trunc) << p.kubelet.etcHostsContent(p.podIp);
    ::chmod(p.kubelet.etcHostsPath().c_str(), 0644);  // the kubelet's mode, whatever the umask
    if (!containerToo) return;
    p.createRequest = p.kubelet.createContainer(p.podId);
    v1::CreateContainerResponse created;
    s = d_->runtime()->CreateContainer(rpcContext(30000).get(), p.createRequest, &created);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
    p.containerId = created.container_id();
    v1::StartContainerRequest start;
    start.set_container_id(p.containerId);
    v1::StartContainerResponse started;
    s = d_->runtime()->StartContainer(rpcContext(30000).get(), start, &started);
    ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << d_->log();
  }

  // Verbose ContainerStatus's info["info"].
  nlohmann::json containerInfo(const std::string& id) { return verboseContainerInfo(*d_, id); }
  int containerPid(const std::string& id) {
    auto info = containerInfo(id);
    return info.is_object() ? info.value("pid", 0) : 0;
  }

  v1::ExecSyncResponse exec(const std::string& id, std::vector<std::string> cmd, int64_t timeoutSeconds = 5) {
    v1::ExecSyncResponse out;
    auto req = KubeletRequests::probe(id, std::move(cmd), timeoutSeconds);
    auto s = d_->runtime()->ExecSync(rpcContext(static_cast<int>(timeoutSeconds) * 1000 + 10000).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // rmdir of the pods' cgroups in every hierarchy, leaves first, then the
  // QoS levels if nobody else uses them. A cgroup whose last process is
  // still exiting is busy for a moment; a QoS level in use stays busy.
  void removePodCgroups() {
    std::vector<std::string> pods, levels;
    for (const auto& m : cgroupMounts()) {
      for (const auto& uid : uids_)
        for (const char* qos : {"/kubepods/burstable/pod", "/kubepods/besteffort/pod", "/kubepods/pod"}) {
          std::string podDir = m.mountPoint + qos + uid;
          std::error_code ec;
          for (const auto& e : std::filesystem::directory_iterator(podDir, ec))
            if (e.is_directory()) pods.push_back(e.path().string());
          pods.push_back(podDir);
        }
      for (const char* qos : {"/kubepods/burstable", "/kubepods/besteffort", "/kubepods"})
        levels.push_back(m.mountPoint + qos);
    }
    for (int i = 0; i < 100; ++i) {
      bool busy = false;
      for (const auto& d : pods) busy = (::rmdir(d.c_str()) != 0 && errno == EBUSY) || busy;
      if (!busy) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const auto& d : levels) (void)::rmdir(d.c_str());
  }

  std::unique_ptr<Daemon> d_;
  std::string imageRef_;
  std::optional<int64_t> imageUid_;
  std::string imageUsername_;
  std::vector<std::string> uids_;  // of every pod the test made, for TearDown
};

}  // namespace crix::test
