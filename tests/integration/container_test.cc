// Containers against the real crixd, conmon, runc and CNI plugins, with
// images from the test registry.
#include <filesystem>
#include <thread>

#include "integration/daemon_fixture.h"
#include "integration/pod_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

using ContainerTest = PodFixture;

TEST_F(ContainerTest, RunsLogsAndExits) {
  std::string id;
  auto c = config("hello", {"sh", "-c", "echo out; echo err >&2; id -un; hostname; echo $GREETING; exit 3"});
  auto* env = c.add_envs();
  env->set_key("GREETING");
  env->set_value("hi there");
  auto s = create(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d_->log();
  EXPECT_EQ(status(id).state(), v1::CONTAINER_CREATED);
  ASSERT_TRUE(start(id).ok());
  auto st = waitExit(id);
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 3);
  EXPECT_EQ(st.reason(), "Error");
  EXPECT_GT(st.finished_at(), st.started_at());
  EXPECT_EQ(st.log_path(), tmp_ / "logs/hello.log");
  // CRI log lines: <time> <stream> <P|F> <text>; the image's User is crix.
  std::string log = *sys::readFile(st.log_path());
  for (const char* line :
       {" stdout F out\n", " stderr F err\n", " stdout F crix\n", " stdout F podhost\n", " stdout F hi there\n"})
    EXPECT_NE(log.find(line), std::string::npos) << line << " in:\n" << log;

  v1::ListContainersRequest list;
  list.mutable_filter()->set_pod_sandbox_id(pod_);
  v1::ListContainersResponse listed;
  ASSERT_TRUE(d_->runtime()->ListContainers(rpcContext().get(), list, &listed).ok());
  ASSERT_EQ(listed.containers_size(), 1);
  EXPECT_EQ(listed.containers(0).id(), id);

  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse removed;
  ASSERT_TRUE(d_->runtime()->RemoveContainer(rpcContext().get(), rm, &removed).ok());
  EXPECT_FALSE(fs::exists(tmp_ / ("d/root/containers/" + id)));
  EXPECT_FALSE(fs::exists(tmp_ / ("d/run/containers/" + id)));
  ASSERT_TRUE(d_->runtime()->RemoveContainer(rpcContext().get(), rm, &removed).ok());  // idempotent
}

TEST_F(ContainerTest, ExecSyncAndStop) {
  std::string id;
  ASSERT_TRUE(create(config("sleeper", {"sleep", "300"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  v1::ExecSyncRequest ex;
  ex.set_container_id(id);
  for (const char* a : {"sh", "-c", "echo -n in-container; exit 7"}) ex.add_cmd(a);
  ex.set_timeout(10);
  v1::ExecSyncResponse out;
  ASSERT_TRUE(d_->runtime()->ExecSync(rpcContext(20000).get(), ex, &out).ok());
  EXPECT_EQ(out.stdout(), "in-container");
  EXPECT_EQ(out.exit_code(), 7);

  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(1);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(30000).get(), stop, &stopped).ok());
  EXPECT_EQ(status(id).state(), v1::CONTAINER_EXITED);
  ASSERT_TRUE(d_->runtime()->StopContainer(rpcContext(30000).get(), stop, &stopped).ok());
}

TEST_F(ContainerTest, BadInput) {
  auto entries = [&] { return std::distance(fs::directory_iterator(tmp_ / "d/root/containers"), {}); };
  auto before = entries();  // the pod's infra container
  auto groupOnly = config("g", {"true"});
  groupOnly.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(5);
  EXPECT_EQ(create(groupOnly, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto escape = config("l", {"true"});
  escape.set_log_path("../../etc/evil.log");
  EXPECT_EQ(create(escape, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto badMount = config("m", {"true"});
  auto* m = badMount.add_mounts();
  m->set_container_path("/x");
  m->set_host_path("/nonexistent/crix/source");
  auto s = create(badMount, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("/nonexistent/crix/source"), std::string::npos);
  auto privileged = config("p", {"true"});
  privileged.mutable_linux()->mutable_security_context()->set_privileged(true);
  EXPECT_EQ(create(privileged, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto noImage = config("n", {"true"});
  noImage.mutable_image()->set_image("127.0.0.1:1/not/pulled:1");
  EXPECT_EQ(create(noImage, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(entries(), before);
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

TEST_F(ContainerTest, LayersStayWhileAContainerUsesThem) {
  std::string id;
  ASSERT_TRUE(create(config("user", {"sleep", "300"}), &id).ok());
  ASSERT_TRUE(start(id).ok());
  auto layerDirs = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(tmp_ / "d/root/layers")) n += e.path().filename().string().size() == 64;
    return n;
  };
  size_t before = layerDirs();
  v1::RemoveImageRequest rmi;
  rmi.mutable_image()->set_image(TestRegistry::get().ref("crix/busybox-user:1"));
  v1::RemoveImageResponse removedImage;
  ASSERT_TRUE(d_->images()->RemoveImage(rpcContext().get(), rmi, &removedImage).ok());
  // The image is gone; the container's layers are not, and it still runs.
  EXPECT_EQ(layerDirs(), before);
  v1::ExecSyncRequest ex;
  ex.set_container_id(id);
  for (const char* a : {"cat", "/etc/passwd"}) ex.add_cmd(a);
  ex.set_timeout(10);
  v1::ExecSyncResponse out;
  ASSERT_TRUE(d_->runtime()->ExecSync(rpcContext(20000).get(), ex, &out).ok());
  EXPECT_NE(out.stdout().find("crix:x:1000"), std::string::npos);
  // Once the container goes, so do the layers nothing else uses.
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse removed;
  ASSERT_TRUE(d_->runtime()->RemoveContainer(rpcContext(30000).get(), rm, &removed).ok());
  EXPECT_LT(layerDirs(), before);
}

TEST_F(ContainerTest, DevicesAndImageVolumes) {
  auto c = config("dev", {"sh", "-c",
                          "ls -l /dev/mynull; echo data > /dev/mynull && echo wrote; grep ' /vol ' /proc/mounts "
                          "| cut -d' ' -f2; echo in-vol > /vol/f && cat /vol/f"});
  c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  auto* d = c.add_devices();
  d->set_host_path("/dev/null");
  d->set_container_path("/dev/mynull");
  d->set_permissions("rw");
  std::string id;
  auto s = create(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(start(id).ok());
  auto st = waitExit(id);
  EXPECT_EQ(st.exit_code(), 0);
  std::string log = *sys::readFile(st.log_path());
  EXPECT_NE(log.find(" 1,   3 "), std::string::npos) << log;  // ls -l: the host's /dev/null numbers
  EXPECT_NE(log.find("stdout F wrote"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F /vol"), std::string::npos) << log;  // the image's volume is a mount
  EXPECT_NE(log.find("stdout F in-vol"), std::string::npos) << log;
  // Its directory lives with the container.
  EXPECT_TRUE(fs::exists(tmp_ / ("d/root/containers/" + id + "/volumes/0/f")));

  // A path that is not a device is refused.
  auto bad = config("notdev", {"true"});
  auto* nd = bad.add_devices();
  nd->set_host_path("/etc/hostname");
  nd->set_container_path("/dev/x");
  EXPECT_EQ(create(bad, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace crix::test
