// CreateContainer's mapping to the spec input, one row per rule.
#include "lifecycle/container_spec_input.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "spec/gvisor_mounts.h"

namespace crix::lifecycle {
namespace {

struct Inputs {
  ContainerConfig cc;
  image::ImageConfig img;
  Sandbox pod;
  config::RuntimeHandler handler;
  HostFacts host;
};

Inputs base() {
  Inputs in;
  in.cc.name = "app";
  in.cc.image = "registry.local/app:1";
  in.img.entrypoint = {"/entry"};
  in.img.cmd = {"serve"};
  in.img.env = {"PATH=/bin", "MODE=image"};
  in.img.workingDir = "/srv";
  in.pod.id = "p0d";
  in.pod.podDir = "/run/crix/pods/p0d";
  in.pod.netnsPath = "/run/crix/netns/p0d";
  in.pod.config.metadata = {"web", "uid-1", "default", 0};
  in.host.rootfs = "/var/lib/crix/containers/c1/merged";
  in.host.user = {1000, 1000, "app", {10}};
  in.host.ownCapabilities = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"};
  in.host.ownOomScoreAdj = -500;
  in.host.hostname = "web";
  in.host.cgroupsPath = "/kubepods/pod1/crix-c1";
  in.host.paths = Paths("/var/lib/crix", "/run/crix");
  return in;
}

bool hasMount(const spec::ContainerSpecInput& s, const std::string& dst, const std::string& src) {
  return std::any_of(s.mounts.begin(), s.mounts.end(),
                     [&](const spec::Mount& m) { return m.containerPath == dst && m.hostPath == src; });
}

bool hasCap(const spec::ContainerSpecInput& s, const std::string& cap) {
  return std::find(s.capabilities.begin(), s.capabilities.end(), cap) != s.capabilities.end();
}

struct Row {
  const char* rule;
  std::function<void(Inputs&)> given;
  std::function<void(const spec::ContainerSpecInput&)> then;
};

TEST(ContainerSpecInput, OneRowPerRule) {
  const Row rows[] = {
      {"the image's entrypoint and cmd run without a command", [](Inputs&) {},
       [](const auto& s) {
         EXPECT_EQ(s.args, (std::vector<std::string>{"/entry", "serve"}));
       }},
      {"a command replaces both", [](Inputs& i) { i.cc.command = {"sh"}; },
       [](const auto& s) { EXPECT_EQ(s.args, std::vector<std::string>{"sh"}); }},
      {"env: the image's, then HOSTNAME, then the config's, later wins",
       [](Inputs& i) {
         i.cc.envs = {"MODE=config", "EXTRA=1"};
       },
       [](const auto& s) {
         EXPECT_EQ(s.env, (std::vector<std::string>{"PATH=/bin", "MODE=config", "HOSTNAME=web", "EXTRA=1"}));
       }},
      {"the image's working dir without one of the config's", [](Inputs&) {},
       [](const auto& s) { EXPECT_EQ(s.cwd, "/srv"); }},
      {"the config's working dir wins", [](Inputs& i) { i.cc.workingDir = "/tmp"; },
       [](const auto& s) { EXPECT_EQ(s.cwd, "/tmp"); }},
      {"the resolved user; its primary group, the image's groups, then the supplemental ones, each once",
       [](Inputs& i) {
         i.cc.supplementalGroups = {5, 6, 10, 1000};
       },
       [](const auto& s) {
         EXPECT_EQ(s.uid, 1000u);
         EXPECT_EQ(s.gid, 1000u);
         EXPECT_EQ(s.additionalGids, (std::vector<uint32_t>{1000, 10, 5, 6}));
       }},
      {"the pod's network namespace", [](Inputs&) {},
       [](const auto& s) {
         EXPECT_EQ(s.netnsPath, "/run/crix/netns/p0d");
         EXPECT_FALSE(s.hostNetwork);
       }},
      {"the host's network", [](Inputs& i) { i.pod.config.network = NamespaceMode::Node; },
       [](const auto& s) { EXPECT_TRUE(s.hostNetwork); }},
      {"the pod's shm, hostname, hosts and resolv.conf", [](Inputs&) {},
       [](const auto& s) {
         EXPECT_TRUE(hasMount(s, "/dev/shm", "/run/crix/pods/p0d/shm"));
         EXPECT_TRUE(hasMount(s, "/etc/hosts", "/run/crix/pods/p0d/hosts"));
         EXPECT_TRUE(hasMount(s, "/etc/hostname", "/run/crix/pods/p0d/hostname"));
         EXPECT_TRUE(hasMount(s, "/etc/resolv.conf", "/run/crix/pods/p0d/resolv.conf"));
       }},
      {"the pod's pinned IPC and UTS namespaces, over the infra container's IPC",
       [](Inputs& i) {
         i.pod.ipcnsPath = "/run/crix/ipcns/p0d";
         i.pod.utsnsPath = "/run/crix/utsns/p0d";
         i.pod.infra = true;
         i.pod.infraPid = 42;
         i.cc.pidMode = static_cast<int>(NamespaceMode::Pod);
       },
       [](const auto& s) {
         EXPECT_EQ(s.ipcnsPath, "/run/crix/ipcns/p0d");
         EXPECT_EQ(s.utsnsPath, "/run/crix/utsns/p0d");
         EXPECT_EQ(s.pidnsPath, "/proc/42/ns/pid");
       }},
      {"a pod from before pinning: the infra container's IPC",
       [](Inputs& i) {
         i.pod.infra = true;
         i.pod.infraPid = 42;
       },
       [](const auto& s) {
         EXPECT_EQ(s.ipcnsPath, "/proc/42/ns/ipc");
         EXPECT_EQ(s.utsnsPath, "");
       }},
      {"host IPC: the host's /dev/shm", [](Inputs& i) { i.pod.config.ipc = NamespaceMode::Node; },
       [](const auto& s) {
         EXPECT_TRUE(s.hostIpc);
         EXPECT_TRUE(hasMount(s, "/dev/shm", "/dev/shm"));
       }},
      {"a CRI mount takes the place of a pod file",
       [](Inputs& i) {
         i.cc.mounts = {{"/etc/hosts", "/var/lib/kubelet/pods/uid-1/etc-hosts", false, "rprivate"}};
         i.host.volumes = i.cc.mounts;
       },
       [](const auto& s) {
         EXPECT_FALSE(hasMount(s, "/etc/hosts", "/run/crix/pods/p0d/hosts"));
         EXPECT_TRUE(hasMount(s, "/etc/hosts", "/var/lib/kubelet/pods/uid-1/etc-hosts"));
       }},
      {"a read-only rootfs gets read-only pod files", [](Inputs& i) { i.cc.readonlyRootfs = true; },
       [](const auto& s) {
         EXPECT_TRUE(s.readonlyRootfs);
         for (const auto& m : s.mounts)
           if (m.containerPath.starts_with("/etc/")) {
             EXPECT_TRUE(m.readonly) << m.containerPath;
           }
       }},
      {"volumes as the runtime sees them, then the image's volumes, after the pod files",
       [](Inputs& i) {
         i.cc.mounts = {{"/data", "/host/data", true, "rslave"}};
         i.host.volumes = {{"/data", "/idmapped/0", true, "rslave"}};
         i.host.imageVolumes = {{"/var/cache", "/var/lib/crix/containers/c1/volumes/0", false, "rprivate"}};
       },
       [](const auto& s) {
         ASSERT_EQ(s.mounts.size(), 6u);
         EXPECT_EQ(s.mounts[4].hostPath, "/idmapped/0");
         EXPECT_EQ(s.mounts[4].propagation, "rslave");
         EXPECT_EQ(s.mounts[5].containerPath, "/var/cache");
       }},
      {"host PID", [](Inputs& i) { i.cc.pidMode = 2; }, [](const auto& s) { EXPECT_TRUE(s.hostPid); }},
      {"a pod's shared PID namespace and IPC through its infra container",
       [](Inputs& i) {
         i.pod.infra = true;
         i.pod.infraPid = 42;
         i.cc.pidMode = 0;
       },
       [](const auto& s) {
         EXPECT_EQ(s.pidnsPath, "/proc/42/ns/pid");
         EXPECT_EQ(s.ipcnsPath, "/proc/42/ns/ipc");
       }},
      {"a container PID namespace of its own in a pod with an infra container",
       [](Inputs& i) {
         i.pod.infra = true;
         i.pod.infraPid = 42;
         i.cc.pidMode = 1;
       },
       [](const auto& s) {
         EXPECT_EQ(s.pidnsPath, "");
         EXPECT_EQ(s.ipcnsPath, "/proc/42/ns/ipc");
       }},
      {"under gVisor the sandbox decides the namespaces",
       [](Inputs& i) {
         i.pod.infra = true;
         i.pod.infraPid = 42;
         i.cc.pidMode = 0;
         i.handler.type = "gvisor";
       },
       [](const auto& s) {
         EXPECT_EQ(s.pidnsPath, "");
         EXPECT_EQ(s.ipcnsPath, "");
       }},
      {"default capabilities, limited to crixd's own", [](Inputs&) {},
       [](const auto& s) {
         EXPECT_TRUE(hasCap(s, "CAP_CHOWN"));
         EXPECT_FALSE(hasCap(s, "CAP_SYS_ADMIN"));
       }},
      {"drop ALL, add one back",
       [](Inputs& i) {
         i.cc.capDrop = {"ALL"};
         i.cc.capAdd = {"NET_RAW"};
       },
       [](const auto& s) { EXPECT_EQ(s.capabilities, std::vector<std::string>{"CAP_NET_RAW"}); }},
      {"privileged: all of crixd's own, and no seccomp",
       [](Inputs& i) {
         i.cc.privileged = true;
         i.host.seccomp.kind = security::SeccompKind::RuntimeDefault;
       },
       [](const auto& s) {
         EXPECT_TRUE(s.privileged);
         EXPECT_TRUE(hasCap(s, "CAP_SYS_ADMIN"));
         EXPECT_FALSE(s.seccomp.has_value());
       }},
      {"RuntimeDefault seccomp for a confined container",
       [](Inputs& i) { i.host.seccomp.kind = security::SeccompKind::RuntimeDefault; },
       [](const auto& s) { EXPECT_TRUE(s.seccomp.has_value()); }},
      {"unconfined: no seccomp", [](Inputs&) {}, [](const auto& s) { EXPECT_FALSE(s.seccomp.has_value()); }},
      {"oom_score_adj as asked when crixd may give it", [](Inputs& i) { i.cc.oomScoreAdj = 968; },
       [](const auto& s) { EXPECT_EQ(s.oomScoreAdj, 968); }},
      {"oom_score_adj never below crixd's own", [](Inputs& i) { i.cc.oomScoreAdj = -998; },
       [](const auto& s) { EXPECT_EQ(s.oomScoreAdj, -500); }},
      {"IPC sysctls in the container, net.* not (the pod's netns has them)",
       [](Inputs& i) {
         i.pod.config.sysctls = {{"kernel.shm_rmid_forced", "1"}, {"net.core.somaxconn", "1024"}};
       },
       [](const auto& s) {
         EXPECT_EQ(s.sysctls, (std::map<std::string, std::string>{{"kernel.shm_rmid_forced", "1"}}));
       }},
      {"crix's own annotations, which a user's cannot replace",
       [](Inputs& i) {
         i.handler.allowedAnnotations = {"io.kubernetes.cri.*"};
         i.cc.annotations = {{spec::kSandboxIdAnnotation, "forged"}};
       },
       [](const auto& s) {
         EXPECT_EQ(s.annotations.at(spec::kSandboxIdAnnotation), "p0d");
         EXPECT_EQ(s.annotations.at(spec::kContainerTypeAnnotation), "container");
         EXPECT_EQ(s.annotations.at("io.kubernetes.cri.sandbox-name"), "web");
         EXPECT_EQ(s.annotations.at("io.kubernetes.cri.container-name"), "app");
         EXPECT_EQ(s.annotations.at("io.kubernetes.cri.image-name"), "registry.local/app:1");
       }},
      {"the enforceable resources and the cgroup path, as given",
       [](Inputs& i) {
         i.host.resources.cpuShares = 256;
         i.host.resources.memoryLimit = 1 << 26;
       },
       [](const auto& s) {
         EXPECT_EQ(s.resources.cpuShares, 256);
         EXPECT_EQ(s.resources.memoryLimit, 1 << 26);
         EXPECT_EQ(s.cgroupsPath, "/kubepods/pod1/crix-c1");
       }},
      {"privileged_without_host_devices reaches the spec",
       [](Inputs& i) { i.handler.privilegedWithoutHostDevices = true; },
       [](const auto& s) { EXPECT_TRUE(s.withoutHostDevices); }},
      {"a tty", [](Inputs& i) { i.cc.tty = true; }, [](const auto& s) { EXPECT_TRUE(s.terminal); }},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.rule);
    auto in = base();
    row.given(in);
    auto s = containerSpecInput(in.cc, in.img, in.pod, in.handler, in.host);
    ASSERT_TRUE(s) << s.error().message();
    row.then(*s);
  }
}

TEST(ContainerSpecInput, NoCommandAnywhereIsInvalid) {
  auto in = base();
  in.img.entrypoint.clear();
  in.img.cmd.clear();
  auto s = containerSpecInput(in.cc, in.img, in.pod, in.handler, in.host);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::InvalidArgument);
}

TEST(ContainerSpecInput, StopSignalIsTheConfigsElseTheImagesElseSigterm) {
  ContainerConfig cc;
  image::ImageConfig img;
  EXPECT_EQ(stopSignalFor(cc, img).value_or(-1), 15);
  img.stopSignal = "SIGQUIT";
  EXPECT_EQ(stopSignalFor(cc, img).value_or(-1), 3);
  img.stopSignal = "RTMIN+2";
  EXPECT_EQ(stopSignalFor(cc, img).value_or(-1), 36);
  cc.stopSignal = 10;
  EXPECT_EQ(stopSignalFor(cc, img).value_or(-1), 10);
  cc.stopSignal = 0;
  img.stopSignal = "SIGNOPE";
  auto bad = stopSignalFor(cc, img);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
  EXPECT_NE(bad.error().message().find("SIGNOPE"), std::string::npos);
}

TEST(ContainerSpecInput, RequestedUser) {
  struct UserRow {
    std::string image;
    std::optional<int64_t> runAsUser, runAsGroup;
    std::string runAsUsername, want;
  } rows[] = {
      {"", {}, {}, "", ""},
      {"nginx", {}, {}, "", "nginx"},
      {"nginx:www", {}, {}, "", "nginx:www"},
      {"nginx", 1000, {}, "", "1000"},
      {"nginx", {}, {}, "app", "app"},
      {"nginx:www", 1000, 0, "", "1000:0"},
      {"", {}, 5, "", ":5"},
  };
  for (const auto& r : rows) {
    ContainerConfig cc;
    cc.runAsUser = r.runAsUser;
    cc.runAsGroup = r.runAsGroup;
    cc.runAsUsername = r.runAsUsername;
    image::ImageConfig img;
    img.user = r.image;
    EXPECT_EQ(requestedUser(cc, img), r.want) << r.image;
  }
}

TEST(ContainerSpecInput, ImageVolumesToMake) {
  ContainerConfig cc;
  cc.mounts = {{"/data", "/host/data", false, "rprivate"}};
  image::ImageConfig img;
  img.volumes = {"/data", "/cache", "relative", "", "/logs"};
  EXPECT_EQ(imageVolumesToMake(cc, img), (std::vector<std::string>{"/cache", "/logs"}));
}

}  // namespace
}  // namespace crix::lifecycle
