#include "image/manifest.h"

#include <gtest/gtest.h>

namespace crix::image {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

std::string desc(const std::string& type, const std::string& digest, const std::string& extra = "") {
  return R"({"mediaType":")" + type + R"(","digest":")" + digest + R"(","size":10)" + extra + "}";
}

TEST(Manifest, ParsesOciAndDockerManifests) {
  for (auto type : {media::kOciManifest, media::kDockerManifest}) {
    std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(type) + R"(","config":)" +
                       desc("application/vnd.oci.image.config.v1+json", kD1) + R"(,"layers":[)" +
                       desc("application/vnd.oci.image.layer.v1.tar+gzip", kD2) + "," +
                       desc("application/vnd.oci.image.layer.v1.tar+zstd", kD3) + "]}";
    auto doc = parseManifest(body, "");
    ASSERT_TRUE(doc) << doc.error().message();
    EXPECT_EQ(doc->kind, ManifestKind::Manifest);
    EXPECT_EQ(doc->config.digest, kD1);
    ASSERT_EQ(doc->layers.size(), 2u);
    EXPECT_EQ(doc->layers[1].digest, kD3);
  }
}

TEST(Manifest, MediaTypeFromContentTypeOrShape) {
  std::string index =
      R"({"schemaVersion":2,"manifests":[)" +
      desc(std::string(media::kOciManifest), kD1, R"(,"platform":{"os":"linux","architecture":"amd64"})") + "]}";
  auto byHeader = parseManifest(index, std::string(media::kDockerList) + "; charset=utf-8");
  ASSERT_TRUE(byHeader);
  EXPECT_EQ(byHeader->kind, ManifestKind::Index);
  auto byShape = parseManifest(index, "application/json");
  ASSERT_TRUE(byShape);
  EXPECT_EQ(byShape->kind, ManifestKind::Index);
}

TEST(Manifest, RefusesBadDocuments) {
  struct Row {
    std::string body, why;
  } rows[] = {
      {"{not json", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"schemaVersion":1,"fsLayers":[]})", "schema 1"},
      {R"({"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"})", "schema 1"},
      {R"({"mediaType":"application/vnd.example.thing"})", "unsupported manifest media type"},
      {R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})", "no config"},
      {R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" + desc("x", "sha256:abc") + "}",
       "no valid sha256 digest"},
      {R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":")" + kD1 + R"(","size":-1}})",
       "no valid size"},
      {R"({"mediaType":"application/vnd.oci.image.index.v1+json"})", "no manifests array"},
  };
  for (const auto& row : rows) {
    auto doc = parseManifest(row.body, "");
    ASSERT_FALSE(doc) << row.body;
    EXPECT_EQ(doc.error().code(), Code::InvalidArgument);
    EXPECT_NE(doc.error().message().find(row.why), std::string::npos) << row.body << ": " << doc.error().message();
  }
}

TEST(Manifest, SelectsThePlatform) {
  ManifestDoc index;
  index.kind = ManifestKind::Index;
  index.manifests = {{"m", kD1, 1, {"linux", "arm", "v6"}},
                     {"m", kD2, 1, {"linux", "arm", "v7"}},
                     {"m", kD3, 1, {"linux", "amd64", ""}},
                     {"m", kD1, 1, {"windows", "amd64", ""}},
                     {"m", kD2, 1, {"linux", "arm64", ""}}};
  EXPECT_EQ(selectPlatform(index, {"linux", "amd64", ""})->digest, kD3);
  EXPECT_EQ(selectPlatform(index, {"linux", "arm", "v7"})->digest, kD2);
  EXPECT_EQ(selectPlatform(index, {"linux", "arm64", "v8"})->digest, kD2);
  auto none = selectPlatform(index, {"linux", "s390x", ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Code::NotFound);
  EXPECT_NE(none.error().message().find("linux/s390x"), std::string::npos);
  EXPECT_NE(none.error().message().find("linux/arm/v7"), std::string::npos);
  EXPECT_FALSE(hostPlatform().architecture.empty());
}

TEST(Manifest, LayerMediaTypes) {
  EXPECT_EQ(*layerCompression("application/vnd.oci.image.layer.v1.tar"), Compression::None);
  EXPECT_EQ(*layerCompression("application/vnd.docker.image.rootfs.diff.tar.gzip"), Compression::Gzip);
  EXPECT_EQ(*layerCompression("application/vnd.oci.image.layer.v1.tar+zstd"), Compression::Zstd);
  auto bad = layerCompression("application/vnd.crix.unknown.layer");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("application/vnd.crix.unknown.layer"), std::string::npos);
}

TEST(Manifest, ImageConfig) {
  auto cfg = parseImageConfig(R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05.5Z",
    "config":{"User":"crix","Env":["PATH=/bin"],"Entrypoint":["/bin/sh"],"Cmd":["-c","true"],"WorkingDir":"/w",
      "Labels":{"a":"b"},"Volumes":{"/vol":{}},"StopSignal":"SIGQUIT"},
    "rootfs":{"type":"layers","diff_ids":[")" +
                              kD1 + R"("]}})");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->user, "crix");
  EXPECT_EQ(cfg->env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_EQ(cfg->cmd, (std::vector<std::string>{"-c", "true"}));
  EXPECT_EQ(cfg->labels.at("a"), "b");
  EXPECT_EQ(cfg->volumes, std::vector<std::string>{"/vol"});
  EXPECT_EQ(cfg->stopSignal, "SIGQUIT");
  EXPECT_EQ(cfg->diffIds, std::vector<std::string>{kD1});
  EXPECT_EQ(cfg->created, 1704164645500000000);
  EXPECT_FALSE(parseImageConfig(R"({"rootfs":{"diff_ids":["md5:x"]}})"));
  EXPECT_FALSE(parseImageConfig(R"({"config":{}})"));
}

}  // namespace
}  // namespace crix::image
