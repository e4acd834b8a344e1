// PodFixture: a crixd with the test registry, the busybox image pulled and
// one pod running, plus helpers to create and start containers in it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/process.h"

namespace crix::test {

namespace v1 = ::runtime::v1;

class PodFixture : public DaemonTest {
 protected:
  void SetUp() override {
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
    d_ = startDaemon("[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml() + "\n" +
                     moreToml());
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(reg.ref("crix/busybox-user:1"));
    v1::PullImageResponse pulled;
    ASSERT_TRUE(d_->images()->PullImage(rpcContext(60000).get(), pull, &pulled).ok());
    v1::RunPodSandboxRequest run;
    auto* c = run.mutable_config();
    c->mutable_metadata()->set_name("pod");
    c->mutable_metadata()->set_namespace_("default");
    c->mutable_metadata()->set_uid("pod-uid");
    c->set_hostname("podhost");
    c->set_log_directory(tmp_ / "logs");
    preparePod(run);
    v1::RunPodSandboxResponse ran;
    auto s = d_->runtime()->RunPodSandbox(rpcContext(30000).get(), run, &ran);
    ASSERT_TRUE(s.ok()) << s.error_message();
    pod_ = ran.pod_sandbox_id();
    podConfig_ = run.config();
  }
  void TearDown() override {
    if (d_ && !pod_.empty()) {
      v1::RemovePodSandboxRequest rm;
      rm.set_pod_sandbox_id(pod_);
      v1::RemovePodSandboxResponse resp;
      EXPECT_TRUE(d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &resp).ok());
    }
    d_.reset();
    (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
  }
  // For fixtures that run the pod differently: more configuration (TOML
  // tables), and changes to the pod's request (handler, annotations).
  virtual std::string moreToml() { return ""; }
  virtual void preparePod(v1::RunPodSandboxRequest&) {}
  v1::ContainerConfig config(const std::string& name, std::vector<std::string> cmd) {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
    for (auto& a : cmd) c.add_command(a);
    c.set_log_path(name + ".log");
    return c;
  }
  grpc::Status create(const v1::ContainerConfig& c, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_);
    *req.mutable_config() = c;
    *req.mutable_sandbox_config() = podConfig_;
    v1::CreateContainerResponse resp;
    auto s = d_->runtime()->CreateContainer(rpcContext(30000).get(), req, &resp);
    if (id) *id = resp.container_id();
    return s;
  }
  grpc::Status start(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    return d_->runtime()->StartContainer(rpcContext(30000).get(), req, &resp);
  }
  v1::ContainerStatus status(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    EXPECT_TRUE(d_->runtime()->ContainerStatus(rpcContext().get(), req, &resp).ok());
    return resp.status();
  }
  v1::ContainerStatus waitExit(const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      auto st = status(id);
      if (st.state() == v1::CONTAINER_EXITED) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status(id);
  }
  std::unique_ptr<Daemon> d_;
  std::string pod_;
  v1::PodSandboxConfig podConfig_;
};

}  // namespace crix::test
