// The image service against the real crixd and a real registry holding
// images built from Debian's busybox packages.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/auth_proxy.h"
#include "integration/daemon_fixture.h"
#include "integration/registry_fixture.h"
#include "sys/process.h"

namespace crix::test {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

class ImageTest : public DaemonTest {
 protected:
  void SetUp() override {
    auto& reg = TestRegistry::get();
    ASSERT_TRUE(reg.ok()) << reg.error();
  }
  std::string ref(const std::string& image) const { return TestRegistry::get().ref(image); }
  std::unique_ptr<Daemon> start(const std::string& extra = "", std::vector<std::string> args = {}) {
    return startDaemon(extra + TestRegistry::get().configToml(), std::move(args));
  }

  grpc::Status pull(Daemon& d, const std::string& image, std::string* id = nullptr) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    v1::PullImageResponse resp;
    auto s = d.images()->PullImage(rpcContext(60000).get(), req, &resp);
    if (id) *id = resp.image_ref();
    return s;
  }
  std::optional<v1::Image> status(Daemon& d, const std::string& image, v1::ImageStatusResponse* full = nullptr) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image);
    req.set_verbose(full != nullptr);
    v1::ImageStatusResponse resp;
    EXPECT_TRUE(d.images()->ImageStatus(rpcContext().get(), req, &resp).ok());
    if (full) *full = resp;
    if (!resp.has_image()) return std::nullopt;
    return resp.image();
  }
  grpc::Status remove(Daemon& d, const std::string& image) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    v1::RemoveImageResponse resp;
    return d.images()->RemoveImage(rpcContext().get(), req, &resp);
  }
  std::vector<v1::Image> list(Daemon& d) {
    v1::ListImagesResponse resp;
    EXPECT_TRUE(d.images()->ListImages(rpcContext().get(), {}, &resp).ok());
    return {resp.images().begin(), resp.images().end()};
  }
  size_t layerDirs(Daemon& d) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(d.root() + "/layers")) n += e.path().filename().string().size() == 64;
    return n;
  }
  // Where a path of an image's top layers lives: the first layer dir that has it.
  std::string findInLayers(Daemon& d, const std::string& path) {
    for (const auto& e : fs::directory_iterator(d.root() + "/layers")) {
      std::string p = e.path().string() + "/diff" + path;
      struct stat st {};
      if (::lstat(p.c_str(), &st) == 0) return p;
    }
    return "";
  }
};

TEST_F(ImageTest, PullTagRemove) {
  auto d = start();
  std::string id;
  auto s = pull(*d, ref("crix/busybox:1.35"), &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << d->log();
  EXPECT_TRUE(id.starts_with("sha256:")) << id;

  auto img = status(*d, ref("crix/busybox:1.35"));
  ASSERT_TRUE(img);
  EXPECT_EQ(img->id(), id);
  EXPECT_GT(img->size(), 500000u);
  ASSERT_EQ(img->repo_tags_size(), 1);
  EXPECT_EQ(img->repo_tags(0), ref("crix/busybox:1.35"));
  ASSERT_EQ(img->repo_digests_size(), 1);
  EXPECT_TRUE(img->repo_digests(0).starts_with(ref("crix/busybox@sha256:")));
  EXPECT_FALSE(img->pinned());
  EXPECT_EQ(layerDirs(*d), 3u);
  // By ID, by short ID and by digest too.
  EXPECT_TRUE(status(*d, id));
  EXPECT_TRUE(status(*d, id.substr(7, 12)));
  EXPECT_TRUE(status(*d, img->repo_digests(0)));

  // What the layers hold, as overlayfs will read them.
  std::string removed = findInLayers(*d, "/data/removeme");
  struct stat st {};
  ASSERT_FALSE(removed.empty());
  bool sawWhiteout = false;
  for (const auto& e : fs::directory_iterator(d->root() + "/layers")) {
    std::string p = e.path().string() + "/diff/data/removeme";
    if (::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) sawWhiteout = true;
  }
  EXPECT_TRUE(sawWhiteout);
  bool sawOpaque = false;
  for (const auto& e : fs::directory_iterator(d->root() + "/layers")) {
    char v[4] = {};
    if (::lgetxattr((e.path().string() + "/diff/data/opaque").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1)
      sawOpaque = v[0] == 'y';
  }
  EXPECT_TRUE(sawOpaque);
  struct stat hard {
  }, src{};
  ASSERT_EQ(::lstat(findInLayers(*d, "/data/hard1").c_str(), &hard), 0);
  ASSERT_EQ(::lstat(findInLayers(*d, "/data/hardsrc").c_str(), &src), 0);
  EXPECT_EQ(hard.st_ino, src.st_ino);
  ASSERT_EQ(::lstat(findInLayers(*d, "/data/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
  EXPECT_EQ(fs::read_symlink(findInLayers(*d, "/data/link")), "dir1/a");

  // A second tag of the same image is the same image with two tags.
  std::string id2;
  ASSERT_TRUE(pull(*d, ref("crix/busybox:latest"), &id2).ok());
  EXPECT_EQ(id2, id);
  EXPECT_EQ(list(*d).size(), 1u);
  EXPECT_EQ(status(*d, id)->repo_tags_size(), 2);

  // Removing one tag keeps the image; removing the last removes everything.
  ASSERT_TRUE(remove(*d, ref("crix/busybox:1.35")).ok());
  ASSERT_TRUE(status(*d, id));
  EXPECT_FALSE(status(*d, ref("crix/busybox:1.35")));
  ASSERT_TRUE(remove(*d, ref("crix/busybox:latest")).ok());
  EXPECT_FALSE(status(*d, id));
  EXPECT_TRUE(list(*d).empty());
  EXPECT_EQ(layerDirs(*d), 0u);
  EXPECT_TRUE(fs::is_empty(d->root() + "/content/sha256"));
  EXPECT_TRUE(remove(*d, ref("crix/busybox:latest")).ok());  // absent: OK

  // And it all survives a restart.
  ASSERT_TRUE(pull(*d, ref("crix/busybox:1.35")).ok());
  EXPECT_EQ(d->stop(), 0);
  ASSERT_TRUE(d->start());
  ASSERT_TRUE(status(*d, ref("crix/busybox:1.35")));
  EXPECT_EQ(layerDirs(*d), 3u);
}

TEST_F(ImageTest, UserFromTheConfig) {
  auto d = start();
  ASSERT_TRUE(pull(*d, ref("crix/busybox-user:1")).ok());
  ASSERT_TRUE(pull(*d, ref("crix/busybox-uid:1")).ok());
  auto named = status(*d, ref("crix/busybox-user:1"));
  EXPECT_EQ(named->username(), "crix");
  EXPECT_FALSE(named->has_uid());
  auto numeric = status(*d, ref("crix/busybox-uid:1"));
  ASSERT_TRUE(numeric->has_uid());
  EXPECT_EQ(numeric->uid().value(), 1000);
  // The busybox layers are shared: three base layers plus whatever each adds.
  EXPECT_LE(layerDirs(*d), 5u);
}

TEST_F(ImageTest, OciZstdUncompressedAndIndexes) {
  auto d = start();
  std::string dyn, pause, multi;
  auto s = pull(*d, ref("crix/busybox-dyn:1"), &dyn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(pull(*d, ref("crix/pause:1"), &pause).ok());
  s = pull(*d, ref("crix/multiarch:1"), &multi);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(multi, pause);  // the host's platform in the index is the pause image
  EXPECT_FALSE(findInLayers(*d, "/bin/busybox").empty());
  v1::ImageStatusResponse full;
  ASSERT_TRUE(status(*d, ref("crix/multiarch:1"), &full));
  auto info = nlohmann::json::parse(full.info().at("info"));
  EXPECT_EQ(info["imageSpec"]["os"], "linux");
  EXPECT_EQ(info["manifest"]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
}

TEST_F(ImageTest, HostileImagesAreRefusedAndLeaveNothing) {
  auto d = start();
  for (const char* escape : {"/tmp/crix-escape-dotdot", "/tmp/crix-escape-abs", "/tmp/crix-escape-symlink"})
    fs::remove(escape);
  struct Row {
    const char* image;
    grpc::StatusCode code;
    const char* why;
  } rows[] = {
      {"crix/evil-dotdot:1", grpc::StatusCode::INVALID_ARGUMENT, "contains \"..\""},
      {"crix/evil-abs:1", grpc::StatusCode::INVALID_ARGUMENT, "absolute path"},
      {"crix/evil-symlink:1", grpc::StatusCode::INVALID_ARGUMENT, "outside the layer"},
      {"crix/evil-hardlink:1", grpc::StatusCode::INVALID_ARGUMENT, "contains \"..\""},
      {"crix/tampered:1", grpc::StatusCode::INVALID_ARGUMENT, "digest mismatch"},
      {"crix/bad-manifest:1", grpc::StatusCode::INVALID_ARGUMENT, "manifest"},
      {"crix/unknown-media:1", grpc::StatusCode::INVALID_ARGUMENT, "unsupported layer media type"},
      {"crix/no-such-image:1", grpc::StatusCode::NOT_FOUND, "not found"},
  };
  for (const auto& row : rows) {
    auto s = pull(*d, ref(row.image));
    EXPECT_EQ(s.error_code(), row.code) << row.image << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(row.why), std::string::npos) << row.image << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(ref(row.image)), std::string::npos) << s.error_message();
  }
  for (const char* escape : {"/tmp/crix-escape-dotdot", "/tmp/crix-escape-abs", "/tmp/crix-escape-symlink"})
    EXPECT_FALSE(fs::exists(escape)) << escape;
  EXPECT_TRUE(list(*d).empty());
  EXPECT_EQ(layerDirs(*d), 0u);
  EXPECT_TRUE(fs::is_empty(d->root() + "/content/ingest"));
}

TEST_F(ImageTest, BadReferencesAreInvalidArguments) {
  auto d = start();
  auto s = pull(*d, "Not/A:Valid::ref");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("Not/A:Valid::ref"), std::string::npos) << s.error_message();
  EXPECT_EQ(pull(*d, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ImageTest, PinnedImagesStay) {
  auto d = start("[image]\npinned_images = [\"" + ref("crix/pause:1") + "\"]\n");
  ASSERT_TRUE(pull(*d, ref("crix/pause:1")).ok());
  EXPECT_TRUE(status(*d, ref("crix/pause:1"))->pinned());
  auto s = remove(*d, ref("crix/pause:1"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(status(*d, ref("crix/pause:1")));
}

TEST_F(ImageTest, MirrorsAndSearchRegistries) {
  // The registry named in the reference does not exist; its mirror does.
  auto d = start("[image]\nunqualified_search_registries = [\"" + TestRegistry::get().host() +
                 "\"]\n[registries.\"registry.invalid\"]\nmirrors = [\"" + TestRegistry::get().host() + "\"]\n");
  std::string viaMirror, viaSearch;
  auto s = pull(*d, "registry.invalid/crix/pause:1", &viaMirror);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status(*d, viaMirror)->repo_tags(0), "registry.invalid/crix/pause:1");
  s = pull(*d, "crix/pause:1", &viaSearch);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(viaSearch, viaMirror);
  EXPECT_EQ(status(*d, viaMirror)->repo_tags_size(), 2);
}

TEST_F(ImageTest, ConcurrentPullsShareOnePull) {
  auto d = start();
  std::vector<std::thread> threads;
  std::vector<std::string> ids(4);
  std::vector<grpc::Status> results(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { results[i] = pull(*d, ref("crix/busybox-dyn:1"), &ids[i]); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].error_message();
    EXPECT_EQ(ids[i], ids[0]);
  }
  std::string log = d->log();
  size_t pulled = 0;
  for (size_t p = log.find("msg=\"pulled image\""); p != std::string::npos; p = log.find("msg=\"pulled image\"", p + 1))
    ++pulled;
  EXPECT_LE(pulled, 2u) << log;  // one, or two if a pull finished before another began
}

TEST_F(ImageTest, ImageFsInfoCountsRealBytes) {
  auto d = start();
  auto usage = [&] {
    v1::ImageFsInfoResponse resp;
    EXPECT_TRUE(d->images()->ImageFsInfo(rpcContext().get(), {}, &resp).ok());
    EXPECT_EQ(resp.image_filesystems_size(), 1);
    EXPECT_EQ(resp.container_filesystems_size(), 1);
    return std::pair{resp.image_filesystems(0).used_bytes().value(), resp.image_filesystems(0).inodes_used().value()};
  };
  auto before = usage();
  ASSERT_TRUE(pull(*d, ref("crix/busybox-dyn:1")).ok());
  auto after = usage();
  EXPECT_GT(after.first, before.first + 500000);
  EXPECT_GT(after.second, before.second);
}

TEST_F(ImageTest, KilledMidPullLeavesNothingAndPullsAgain) {
  {
    Daemon d(tmp_ / "d", config(TestRegistry::get().configToml()));
    setenv("CRIX_FAULT", "pull-before-commit", 1);
    EXPECT_TRUE(d.start());
    unsetenv("CRIX_FAULT");
    EXPECT_FALSE(pull(d, ref("crix/busybox:1.35")).ok());
    EXPECT_EQ(d.stop(SIGKILL), -SIGKILL);  // it already killed itself
    EXPECT_NE(d.log().find("fault injected"), std::string::npos);
    // Unpacked layers are on disk, recorded nowhere.
    EXPECT_GT(layerDirs(d), 0u);
  }
  auto d = start();
  EXPECT_TRUE(list(*d).empty());
  EXPECT_EQ(layerDirs(*d), 0u);
  EXPECT_NE(d->log().find("removing layer no image records"), std::string::npos);
  auto s = pull(*d, ref("crix/busybox:1.35"));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list(*d).size(), 1u);
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

TEST_F(ImageTest, BearerTokenAuth) {
  AuthProxy proxy(TestRegistry::get().host());
  auto d = start("[registries.\"" + proxy.host() + "\"]\ninsecure = true\n");
  auto pullWith = [&](const std::function<void(v1::AuthConfig*)>& set, const std::string& image) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(proxy.host() + "/" + image);
    set(req.mutable_auth());
    v1::PullImageResponse resp;
    return d->images()->PullImage(rpcContext(60000).get(), req, &resp);
  };
  auto anonymous = pullWith([](v1::AuthConfig*) {}, "crix/pause:1");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::PERMISSION_DENIED) << anonymous.error_message();
  auto wrong = pullWith([](v1::AuthConfig* a) { a->set_username("crix"), a->set_password("wrong"); }, "crix/pause:1");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::PERMISSION_DENIED) << wrong.error_message();
  EXPECT_EQ(proxy.tokenRequests(), 0);

  auto withPassword =
      pullWith([](v1::AuthConfig* a) { a->set_username(AuthProxy::kUser), a->set_password(AuthProxy::kPassword); },
               "crix/pause:1");
  ASSERT_TRUE(withPassword.ok()) << withPassword.error_message();
  EXPECT_EQ(proxy.tokenRequests(), 1);
  auto withAuthField = pullWith([](v1::AuthConfig* a) { a->set_auth("Y3JpeDpzZWNyZXQ="); }, "crix/busybox-dyn:1");
  ASSERT_TRUE(withAuthField.ok()) << withAuthField.error_message();
  EXPECT_EQ(proxy.tokenRequests(), 2);
  auto withToken = pullWith([](v1::AuthConfig* a) { a->set_registry_token(AuthProxy::kToken); }, "crix/busybox-uid:1");
  ASSERT_TRUE(withToken.ok()) << withToken.error_message();
  EXPECT_EQ(proxy.tokenRequests(), 2);  // a registry token is used as it is
}

}  // namespace
}  // namespace crix::test

namespace crix::test {
namespace {

// Builds an OCI layout archive and a docker save archive of crix/pause:1
// from the registry's own blobs, with curl, jq, tar and gzip.
const char* kMakeArchives = R"SH(
set -euo pipefail
reg=$1 out=$2
acc='application/vnd.oci.image.manifest.v1+json'
m=$(curl -sf -H "Accept: $acc" "http://$reg/v2/crix/pause/manifests/1")
oci=$out/oci; mkdir -p "$oci/blobs/sha256"
fetch() { curl -sf -o "$oci/blobs/sha256/${1#sha256:}" "http://$reg/v2/crix/pause/blobs/$1"; }
for d in $(echo "$m" | jq -r '.config.digest, .layers[].digest'); do fetch "$d"; done
md=$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)
printf '%s' "$m" > "$oci/blobs/sha256/$md"
echo '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
jq -n --arg d "sha256:$md" --argjson s "$(printf '%s' "$m" | wc -c)" \
  '{schemaVersion:2, manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json", digest:$d, size:$s,
    annotations:{"org.opencontainers.image.ref.name":"localhost/imported/oci:1"}}]}' > "$oci/index.json"
tar -C "$oci" -cf "$out/oci.tar" .
ds=$out/dsave; mkdir -p "$ds/layer"
cfg=$(echo "$m" | jq -r .config.digest); cp "$oci/blobs/sha256/${cfg#sha256:}" "$ds/config.json"
l=$(echo "$m" | jq -r '.layers[0].digest'); gzip -dc "$oci/blobs/sha256/${l#sha256:}" > "$ds/layer/layer.tar"
echo '[{"Config":"config.json","RepoTags":["localhost/imported/dsave:1"],"Layers":["layer/layer.tar"]}]' > "$ds/manifest.json"
tar -C "$ds" -czf "$out/dsave.tar.gz" .
)SH";

TEST_F(ImageTest, ImportArchivesAndCrixctl) {
  auto d = start();
  std::string out = tmp_ / "archives";
  fs::create_directories(out);
  auto made = sys::runCommand({"/bin/bash", "-c", kMakeArchives, "make", TestRegistry::get().host(), out});
  ASSERT_TRUE(made && made->exitCode == 0) << (made ? made->err : made.error().message());

  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CRIXCTL_PATH, "-r", d->socket()});
    auto r = sys::runCommand(args);
    EXPECT_TRUE(r);
    return r ? *r : sys::CommandResult{};
  };
  auto oci = ctl({"image", "import", out + "/oci.tar"});
  ASSERT_EQ(oci.exitCode, 0) << oci.err;
  auto dsave = ctl({"image", "import", out + "/dsave.tar.gz"});
  ASSERT_EQ(dsave.exitCode, 0) << dsave.err;
  // A CRI client may not make crixd read a host file: only the import
  // directory's archives are read, symlinks resolved.
  auto outside = pull(*d, "oci-archive:" + out + "/oci.tar");
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << outside.error_message();
  EXPECT_NE(outside.error_message().find("import"), std::string::npos) << outside.error_message();
  EXPECT_EQ(pull(*d, "docker-archive:/etc/shadow").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  fs::create_symlink(out + "/oci.tar", d->root() + "/import/sneaky.tar");
  EXPECT_EQ(pull(*d, "oci-archive:" + d->root() + "/import/sneaky.tar").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  fs::remove(d->root() + "/import/sneaky.tar");
  EXPECT_TRUE(fs::is_empty(d->root() + "/import"));  // crixctl's staged copies are gone
  auto ociImg = status(*d, "localhost/imported/oci:1");
  auto dsaveImg = status(*d, "localhost/imported/dsave:1");
  ASSERT_TRUE(ociImg && dsaveImg);
  EXPECT_EQ(ociImg->id(), dsaveImg->id());  // the same config: the same image
  EXPECT_EQ(ociImg->repo_tags_size(), 2);

  auto listed = ctl({"images"});
  EXPECT_NE(listed.out.find("localhost/imported/oci:1"), std::string::npos) << listed.out;
  auto inspected = ctl({"inspecti", "localhost/imported/dsave:1"});
  EXPECT_EQ(inspected.exitCode, 0);
  EXPECT_NE(inspected.out.find("\"imageSpec"), std::string::npos);
  auto pulled = ctl({"pull", ref("crix/busybox-uid:1")});
  EXPECT_EQ(pulled.exitCode, 0) << pulled.err;
  EXPECT_EQ(ctl({"rmi", ref("crix/busybox-uid:1")}).exitCode, 0);
  EXPECT_EQ(ctl({"imagefsinfo"}).exitCode, 0);
  auto bad = ctl({"pull", "Bad::Ref"});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.err.find("Bad::Ref"), std::string::npos) << bad.err;
  // Not an archive at all.
  std::ofstream(out + "/junk.tar") << std::string(4096, 'j');
  EXPECT_EQ(ctl({"image", "import", out + "/junk.tar"}).exitCode, 1);
  EXPECT_TRUE(fs::is_empty(d->root() + "/content/ingest"));
}

}  // namespace
}  // namespace crix::test
