#include "image/manifest.h"

#include <sys/utsname.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "image/reference.h"

namespace crix::image {
namespace {

using nlohmann::json;

tl::unexpected<Error> bad(const std::string& why) {
  return fail(Code::InvalidArgument, "malformed manifest: " + why);
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<Descriptor> descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where + " is not an object");
  Descriptor d;
  d.mediaType = str(j, "mediaType");
  d.digest = str(j, "digest");
  if (!isValidDigest(d.digest)) return bad(where + " has no valid sha256 digest");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    return bad(where + " has no valid size");
  d.size = size->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform.os = str(*p, "os");
    d.platform.architecture = str(*p, "architecture");
    d.platform.variant = str(*p, "variant");
  }
  return d;
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// RFC 3339 to ns since the epoch; 0 when absent or unreadable.
int64_t parseTime(const std::string& s) {
  tm t{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (!rest) return 0;
  int64_t ns = 0;
  if (*rest == '.') {
    int64_t scale = 100000000;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) ns += (*rest - '0') * scale;
  }
  return static_cast<int64_t>(timegm(&t)) * 1000000000 + ns;
}

std::string normalArch(std::string arch) {
  if (arch == "x86_64") return "amd64";
  if (arch == "aarch64") return "arm64";
  return arch;
}

bool variantMatches(const Platform& have, const Platform& want) {
  if (have.variant.empty() || want.variant.empty()) return true;
  return have.variant == want.variant;
}

}  // namespace

std::string manifestAcceptHeader() {
  return std::string(media::kOciIndex) + ", " + std::string(media::kOciManifest) + ", " +
         std::string(media::kDockerList) + ", " + std::string(media::kDockerManifest) + ", " +
         std::string(media::kDockerSchema1Signed) + ";q=0.1";
}

Platform hostPlatform() {
  utsname u{};
  uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return {"linux", "amd64", ""};
  if (m == "aarch64") return {"linux", "arm64", "v8"};
  if (m.starts_with("armv7")) return {"linux", "arm", "v7"};
  if (m.starts_with("armv6")) return {"linux", "arm", "v6"};
  if (m == "i686" || m == "i386") return {"linux", "386", ""};
  return {"linux", m, ""};
}

Result<ManifestDoc> parseManifest(std::string_view body, std::string_view contentType) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("not a JSON object");
  ManifestDoc doc;
  doc.mediaType = str(j, "mediaType");
  std::string type = doc.mediaType.empty() ? std::string(contentType.substr(0, contentType.find(';'))) : doc.mediaType;
  if (type == media::kDockerSchema1 || type == media::kDockerSchema1Signed ||
      (j.contains("schemaVersion") && j["schemaVersion"] == 1))
    return fail(Code::InvalidArgument,
                "Docker schema 1 manifests are not supported (deprecated and unverifiable): push the image again "
                "with a current client");
  if (type.empty() || type == "application/json" || type == "text/plain") {
    // Bare OCI documents may omit mediaType; tell them apart by shape.
    type = j.contains("manifests") ? std::string(media::kOciIndex) : std::string(media::kOciManifest);
  }
  if (type == media::kOciIndex || type == media::kDockerList) {
    doc.kind = ManifestKind::Index;
    auto m = j.find("manifests");
    if (m == j.end() || !m->is_array()) return bad("index has no manifests array");
    for (size_t i = 0; i < m->size(); ++i)
      doc.manifests.push_back(TRY(descriptor((*m)[i], "manifests[" + std::to_string(i) + "]")));
    return doc;
  }
  if (type != media::kOciManifest && type != media::kDockerManifest)
    return fail(Code::InvalidArgument, "unsupported manifest media type \"" + type + "\"");
  doc.kind = ManifestKind::Manifest;
  auto c = j.find("config");
  if (c == j.end()) return bad("no config");
  doc.config = TRY(descriptor(*c, "config"));
  auto l = j.find("layers");
  if (l == j.end() || !l->is_array()) return bad("no layers array");
  for (size_t i = 0; i < l->size(); ++i)
    doc.layers.push_back(TRY(descriptor((*l)[i], "layers[" + std::to_string(i) + "]")));
  return doc;
}

Result<Descriptor> selectPlatform(const ManifestDoc& index, const Platform& want) {
  for (const auto& d : index.manifests) {
    Platform have = d.platform;
    have.architecture = normalArch(have.architecture);
    if (have.os == want.os && have.architecture == want.architecture && variantMatches(have, want)) return d;
  }
  std::string offered;
  for (const auto& d : index.manifests) {
    offered += (offered.empty() ? "" : ", ") + d.platform.os + "/" + d.platform.architecture;
    if (!d.platform.variant.empty()) offered += "/" + d.platform.variant;
  }
  std::string wanted = want.os + "/" + want.architecture + (want.variant.empty() ? "" : "/" + want.variant);
  return fail(Code::NotFound, "no image for platform " + wanted + " in the index (it has: " + offered + ")");
}

Result<Compression> layerCompression(std::string_view mediaType) {
  if (mediaType == "application/vnd.oci.image.layer.v1.tar" ||
      mediaType == "application/vnd.docker.image.rootfs.diff.tar")
    return Compression::None;
  if (mediaType == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      mediaType == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      mediaType == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      mediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
    return Compression::Gzip;
  if (mediaType == "application/vnd.oci.image.layer.v1.tar+zstd") return Compression::Zstd;
  return fail(Code::InvalidArgument, "unsupported layer media type \"" + std::string(mediaType) + "\"");
}

Result<ImageConfig> parseImageConfig(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::InvalidArgument, "malformed image config: not a JSON object");
  ImageConfig cfg;
  cfg.architecture = str(j, "architecture");
  cfg.os = str(j, "os");
  cfg.created = parseTime(str(j, "created"));
  if (auto c = j.find("config"); c != j.end() && c->is_object()) {
    cfg.user = str(*c, "User");
    cfg.workingDir = str(*c, "WorkingDir");
    cfg.stopSignal = str(*c, "StopSignal");
    cfg.env = strings(*c, "Env");
    cfg.entrypoint = strings(*c, "Entrypoint");
    cfg.cmd = strings(*c, "Cmd");
    if (auto l = c->find("Labels"); l != c->end() && l->is_object())
      for (const auto& [k, v] : l->items())
        if (v.is_string()) cfg.labels[k] = v.get<std::string>();
    if (auto v = c->find("Volumes"); v != c->end() && v->is_object())
      for (const auto& [k, _] : v->items()) cfg.volumes.push_back(k);
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object())
    return fail(Code::InvalidArgument, "malformed image config: no rootfs");
  cfg.diffIds = strings(*rootfs, "diff_ids");
  for (const auto& d : cfg.diffIds)
    if (!isValidDigest(d)) return fail(Code::InvalidArgument, "malformed image config: bad diff_id \"" + d + "\"");
  return cfg;
}

}  // namespace crix::image
