// Every RPC of the CRI crix serves answers something of its own: each
// method of both services, taken from the proto's descriptors (so a new
// RPC cannot be missed), is called with an empty request over the real
// crixd. Then the calls that answer by what the host can do:
// UpdateRuntimeConfig with a CNI template, and checkpoint/restore.
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "integration/pod_fixture.h"
#include "sys/fs.h"

namespace crix::test {
namespace {

using namespace std::chrono_literals;

// Calls `method` ("/runtime.v1.RuntimeService/Version") with an empty
// request as a generic stream (one message out, read to the end), which
// serves unary and streaming methods alike.
grpc::Status callEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 3s);
  auto step = [&](int tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == reinterpret_cast<void*>(static_cast<intptr_t>(tag)) && ok;
  };
  auto tag = [](int n) { return reinterpret_cast<void*>(static_cast<intptr_t>(n)); };
  auto call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(tag(1));
  grpc::Status status;
  if (step(1)) {
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1);
    call->Write(request, tag(2));
    if (step(2)) {
      call->WritesDone(tag(3));
      step(3);
      grpc::ByteBuffer reply;
      for (int i = 0; i < 1000; ++i) {
        call->Read(&reply, tag(4));
        if (!step(4)) break;
      }
    }
  }
  call->Finish(&status, tag(5));
  step(5);
  cq.Shutdown();
  void* got = nullptr;
  bool ok = false;
  while (cq.Next(&got, &ok)) {
  }
  return status;
}

class RpcCoverageTest : public PodFixture {};

TEST_F(RpcCoverageTest, EveryMethodOfBothServicesAnswersSomethingOfItsOwn) {
  int methods = 0;
  for (const char* service : {"runtime.v1.RuntimeService", "runtime.v1.ImageService"}) {
    const auto* desc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    ASSERT_NE(desc, nullptr) << service;
    for (int i = 0; i < desc->method_count(); ++i) {
      const auto* m = desc->method(i);
      ++methods;
      auto status = callEmpty(d_->channel(), "/" + std::string(service) + "/" + m->name());
      EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << m->name() << ": " << status.error_message();
    }
  }
  EXPECT_EQ(methods, 43) << "the proto's RPCs";
}

TEST_F(RpcCoverageTest, CheckpointAndRestoreSayWhyTheyCannotRun) {
  std::string id;
  ASSERT_TRUE(create(config("c", {"sleep", "3600"}), &id).ok());
  v1::CheckpointContainerRequest req;
  req.set_container_id(id);
  req.set_location("/tmp/checkpoint.tar");
  v1::CheckpointContainerResponse resp;
  auto s = d_->runtime()->CheckpointContainer(rpcContext(40000).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("criu"), std::string::npos) << s.error_message();
  req.set_container_id("0123456789abcdef");
  EXPECT_EQ(d_->runtime()->CheckpointContainer(rpcContext().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::CheckpointPodRequest pod;
  pod.set_pod_sandbox_id(pod_);
  v1::CheckpointPodResponse podResp;
  EXPECT_EQ(d_->runtime()->CheckpointPod(rpcContext().get(), pod, &podResp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::RestorePodRequest restore;
  restore.set_checkpoint_path("/tmp/checkpoint.tar");
  v1::RestorePodResponse restored;
  EXPECT_EQ(d_->runtime()->RestorePod(rpcContext().get(), restore, &restored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Status says the same, as a condition of its own.
  v1::StatusResponse status;
  ASSERT_TRUE(d_->runtime()->Status(rpcContext().get(), {}, &status).ok());
  bool found = false;
  for (const auto& c : status.status().conditions()) {
    if (c.type() != "CheckpointRestoreReady") continue;
    found = true;
    EXPECT_FALSE(c.status());
    EXPECT_EQ(c.reason(), "CriuUnavailable");
    EXPECT_NE(s.error_message().find(c.message()), std::string::npos) << c.message();
  }
  EXPECT_TRUE(found);
}

// A node whose network takes the kubelet's pod CIDR: no CNI configuration
// until UpdateRuntimeConfig fills in the template, then pods get
// addresses from that range.
class PodCidrTest : public DaemonTest {};

TEST_F(PodCidrTest, UpdateRuntimeConfigWritesTheTemplateAndTheNetworkFollows) {
  std::filesystem::remove(cniDir_ + "/10-crix-test.conflist");
  std::ofstream(tmp_ / "template.conflist") << R"({
  "cniVersion": "1.0.0", "name": "crix-cidr",
  "plugins": [{"type": "bridge", "bridge": "crixtest0", "isGateway": true,
               "ipam": {"type": "host-local", "subnet": "{{.PodCIDR}}", "dataDir": ")" +
                                                   tmp_ / "ipam" + R"("}}]
})";
  std::filesystem::create_directories(tmp_ / "d/crix.d");
  std::ofstream(tmp_ / "d/crix.d/50-template.toml")
      << "[network]\nconf_template = \"" + tmp_ / "template.conflist" + "\"\n";
  auto& reg = TestRegistry::get();
  ASSERT_TRUE(reg.ok()) << reg.error();
  auto d = startDaemon("[image]\npause_image = \"" + reg.ref("crix/pause:1") + "\"\n" + reg.configToml() + "\n");
  ASSERT_TRUE(d->running());
  auto networkReady = [&] {
    v1::StatusResponse st;
    EXPECT_TRUE(d->runtime()->Status(rpcContext().get(), {}, &st).ok());
    for (const auto& c : st.status().conditions())
      if (c.type() == "NetworkReady") return c.status();
    return false;
  };
  EXPECT_FALSE(networkReady()) << "no CNI configuration yet";

  v1::UpdateRuntimeConfigRequest bad;
  bad.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.198.0.0");
  v1::UpdateRuntimeConfigResponse resp;
  EXPECT_EQ(d->runtime()->UpdateRuntimeConfig(rpcContext().get(), bad, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::UpdateRuntimeConfigRequest req;
  req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.198.0.0/24");
  auto s = d->runtime()->UpdateRuntimeConfig(rpcContext().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto written = sys::readFile(cniDir_ + "/10-crix-template.conflist");
  ASSERT_TRUE(written);
  EXPECT_NE(written->find("\"subnet\": \"10.198.0.0/24\""), std::string::npos) << *written;
  bool ready = false;
  for (int i = 0; i < 50 && !(ready = networkReady()); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(ready);

  v1::RunPodSandboxRequest run;
  auto* c = run.mutable_config();
  c->mutable_metadata()->set_name("cidr");
  c->mutable_metadata()->set_namespace_("default");
  c->mutable_metadata()->set_uid("cidr-uid");
  v1::RunPodSandboxResponse ran;
  s = d->runtime()->RunPodSandbox(rpcContext(30000).get(), run, &ran);
  ASSERT_TRUE(s.ok()) << s.error_message() << d->log();
  v1::PodSandboxStatusRequest st;
  st.set_pod_sandbox_id(ran.pod_sandbox_id());
  v1::PodSandboxStatusResponse status;
  ASSERT_TRUE(d->runtime()->PodSandboxStatus(rpcContext().get(), st, &status).ok());
  EXPECT_TRUE(status.status().network().ip().starts_with("10.198.0.")) << status.status().network().ip();
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(ran.pod_sandbox_id());
  v1::RemovePodSandboxResponse removed;
  EXPECT_TRUE(d->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &removed).ok());
  d.reset();
  (void)sys::runCommand({"/sbin/ip", "link", "del", "crixtest0"});
}

}  // namespace
}  // namespace crix::test
