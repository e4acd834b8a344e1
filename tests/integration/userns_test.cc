// Pods with a user namespace of their own, against the real crixd, conmon,
// runc and the kernel's idmapped mounts: the container's root is an
// unprivileged host user, yet owns its image's files and its network.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "integration/pod_fixture.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::test {
namespace {

constexpr uint32_t kHostBase = 300000;  // the container's root, as the host sees it
constexpr uint32_t kLength = 65536;

void mapPodUsers(v1::PodSandboxConfig* c, uint32_t containerId = 0, uint32_t hostId = kHostBase,
                 uint32_t length = kLength) {
  auto* u = c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->mutable_userns_options();
  u->set_mode(v1::POD);
  for (auto* m : {u->add_uids(), u->add_gids()}) {
    m->set_container_id(containerId);
    m->set_host_id(hostId);
    m->set_length(length);
  }
}

// The inode of the user namespace that owns the namespace pinned at `path`.
ino_t owningUserns(const std::string& path) {
  sys::UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return 0;
  sys::UniqueFd owner(::ioctl(ns.get(), NS_GET_USERNS));
  struct stat st {};
  return owner.valid() && ::fstat(owner.get(), &st) == 0 ? st.st_ino : 0;
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class UsernsTest : public PodFixture {
 protected:
  void SetUp() override {
    // The container's root is "others" to the host's directories on the
    // way to its rootfs, and mkdtemp made this one 0700.
    ::chmod(tmp_.path().c_str(), 0711);
    PodFixture::SetUp();
  }
  void preparePod(v1::RunPodSandboxRequest& req) override {
    mapPodUsers(req.mutable_config());
    req.mutable_config()->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        infra() ? v1::POD : v1::CONTAINER);
  }
  virtual bool infra() const { return false; }

  std::string exec(const std::string& id, const std::string& script) {
    v1::ExecSyncRequest ex;
    ex.set_container_id(id);
    for (const char* a : {"sh", "-c"}) ex.add_cmd(a);
    ex.add_cmd(script);
    ex.set_timeout(10);
    v1::ExecSyncResponse out;
    auto s = d_->runtime()->ExecSync(rpcContext(20000).get(), ex, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.exit_code(), 0) << out.stderr();
    return out.stdout();
  }

  void checkPod() {
    std::string userns = tmp_ / ("d/run/userns/" + pod_), netns = tmp_ / ("d/run/netns/" + pod_);
    ASSERT_NE(inodeOf(userns), 0u);
    // The pod's network namespace is its user namespace's own.
    EXPECT_EQ(owningUserns(netns), inodeOf(userns));

    v1::PodSandboxStatusRequest sreq;
    sreq.set_pod_sandbox_id(pod_);
    v1::PodSandboxStatusResponse sresp;
    ASSERT_TRUE(d_->runtime()->PodSandboxStatus(rpcContext().get(), sreq, &sresp).ok());
    const auto& u = sresp.status().linux().namespaces().options().userns_options();
    EXPECT_EQ(u.mode(), v1::POD);
    ASSERT_EQ(u.uids_size(), 1);
    EXPECT_EQ(u.uids(0).host_id(), kHostBase);
    EXPECT_EQ(u.gids(0).length(), kLength);

    std::string id;
    auto c = config("c", {"sleep", "300"});
    c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);  // the image names a user
    // NET_ADMIN counts in the pod's user namespace only: the network
    // namespace must be that one's for it to reach the interfaces.
    c.mutable_linux()->mutable_security_context()->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
    // A volume from the host, its files the host root's.
    std::string vol = tmp_ / "vol";
    std::filesystem::create_directories(vol);
    ASSERT_TRUE(sys::writeFileAtomic(vol + "/hostfile", "from the host\n", 0644));
    auto* m = c.add_mounts();
    m->set_host_path(vol);
    m->set_container_path("/vol");
    ASSERT_TRUE(create(c, &id).ok());
    // The idmapped copy crixd made for the runtime is gone from the host.
    EXPECT_FALSE(std::filesystem::exists(tmp_ / ("d/root/containers/" + id + "/volume-maps")));
    auto started = start(id);
    ASSERT_TRUE(started.ok()) << started.error_message() << d_->log();

    // Inside, root is mapped to the host's kHostBase.
    std::istringstream map(exec(id, "cat /proc/self/uid_map"));
    uint32_t inside = 1, outside = 0, length = 0;
    map >> inside >> outside >> length;
    EXPECT_EQ(inside, 0u);
    EXPECT_EQ(outside, kHostBase);
    EXPECT_EQ(length, kLength);
    // The image's files are root's in there, and root may write the rootfs.
    EXPECT_EQ(exec(id, "touch /made-here && stat -c '%u %g' /etc/passwd /made-here"), "0 0\n0 0\n");
    // On the host the new file belongs to the mapped user.
    struct stat st {};
    ASSERT_EQ(::stat((tmp_ / ("d/root/containers/" + id + "/upper/made-here")).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kHostBase);
    EXPECT_EQ(st.st_gid, kHostBase);
    // The volume is seen through the pod's mappings: the host root's file
    // is the container root's, and what it writes is the host root's on disk.
    EXPECT_EQ(exec(id, "stat -c '%u %g' /vol/hostfile && echo more >> /vol/hostfile && touch /vol/fromctr"), "0 0\n");
    ASSERT_EQ(::stat((vol + "/fromctr").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(sys::readFile(vol + "/hostfile").value_or(""), "from the host\nmore\n");
    // Root, with NET_ADMIN, administers the pod's own network.
    exec(id, "ip link set lo down && ip link set lo up");

    // Removing the pod unpins the user namespace; no mount is left.
    v1::RemovePodSandboxRequest rm;
    rm.set_pod_sandbox_id(pod_);
    v1::RemovePodSandboxResponse rmResp;
    ASSERT_TRUE(d_->runtime()->RemovePodSandbox(rpcContext(30000).get(), rm, &rmResp).ok());
    pod_.clear();
    EXPECT_FALSE(std::filesystem::exists(userns));
    auto mounts = sys::readFile("/proc/mounts");
    ASSERT_TRUE(mounts);
    EXPECT_EQ(mounts->find(tmp_.path()), std::string::npos) << *mounts;
  }
};

class UsernsInfraTest : public UsernsTest {
 protected:
  bool infra() const override { return true; }
};

TEST_F(UsernsTest, ContainerRootIsAnUnprivilegedHostUser) {
  checkPod();
}

TEST_F(UsernsInfraTest, ContainerRootIsAnUnprivilegedHostUser) {
  checkPod();
}

using UsernsBadInputTest = DaemonTest;

TEST_F(UsernsBadInputTest, RefusedWithTheReason) {
  auto d = startDaemon();
  ASSERT_TRUE(d);
  struct Row {
    const char* what;
    std::function<void(v1::PodSandboxConfig*)> change;
    const char* says;
  } rows[] = {
      {"root not mapped", [](auto* c) { mapPodUsers(c, 1000); }, "container's root"},
      {"empty mapping", [](auto* c) { mapPodUsers(c, 0, kHostBase, 0); }, "length 0"},
      {"past the last id", [](auto* c) { mapPodUsers(c, 0, 0xffffff00u); }, "past the last id"},
      {"host network",
       [](auto* c) {
         mapPodUsers(c);
         c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
       },
       "host's network"},
      {"container mode",
       [](auto* c) {
         mapPodUsers(c);
         c->mutable_linux()
             ->mutable_security_context()
             ->mutable_namespace_options()
             ->mutable_userns_options()
             ->set_mode(v1::CONTAINER);
       },
       "not supported"},
      {"mappings for the host's",
       [](auto* c) {
         mapPodUsers(c);
         c->mutable_linux()
             ->mutable_security_context()
             ->mutable_namespace_options()
             ->mutable_userns_options()
             ->set_mode(v1::NODE);
       },
       "host's user namespace"},
  };
  for (const auto& row : rows) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name("bad");
    c->mutable_metadata()->set_namespace_("default");
    c->mutable_metadata()->set_uid("bad-uid");
    row.change(c);
    v1::RunPodSandboxResponse resp;
    auto s = d->runtime()->RunPodSandbox(rpcContext(30000).get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << row.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(row.says), std::string::npos) << row.what << ": " << s.error_message();
  }
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(tmp_ / "d/run/userns", ec) || ec) << "a refused pod left a user namespace";
}

}  // namespace
}  // namespace crix::test
