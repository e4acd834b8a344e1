// ImageStore::importArchive: images for air-gapped nodes, from an OCI image
// layout archive or a `docker save` archive. The archive is unpacked with
// the same hardened unpacker as layers, then served to the ordinary pull
// path through a Registry that reads the unpacked files.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "image/digest.h"
#include "image/image_store.h"
#include "storage/unpack.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace crix::image {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Serves manifests and blobs from files: `blobs` maps a digest to its file,
// `manifests` a tag or digest to a manifest body.
class ArchiveRegistry final : public Registry {
 public:
  std::map<std::string, std::string> blobs;
  std::map<std::string, FetchedManifest> manifests;

  Result<FetchedManifest> manifest(const std::string& tagOrDigest) override {
    auto it = manifests.find(tagOrDigest);
    if (it != manifests.end()) return it->second;
    auto b = blobs.find(tagOrDigest);
    if (b == blobs.end()) return fail(Code::NotFound, "archive has no manifest " + tagOrDigest);
    auto body = TRY(sys::readFile(b->second));
    return FetchedManifest{body, "", sha256(body), "archive"};
  }

  Result<> blob(const std::string& digest, const BlobSink& sink) override {
    auto it = blobs.find(digest);
    if (it == blobs.end()) return fail(Code::NotFound, "archive has no blob " + digest);
    sys::UniqueFd fd(::open(it->second.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return failErrno("open " + it->second, errno);
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) return failErrno("read " + it->second, errno);
      if (n == 0) return {};
      TRY(sink(buf.data(), static_cast<size_t>(n)));
    }
  }
};

struct Named {
  std::string refName;  // may be empty: an untagged image
  std::string key;      // what to ask the ArchiveRegistry for
};

Result<std::vector<Named>> loadOciLayout(const std::string& dir, ArchiveRegistry& reg) {
  for (const auto& e : fs::recursive_directory_iterator(dir + "/blobs"))
    if (e.is_regular_file())
      reg.blobs[e.path().parent_path().filename().string() + ":" + e.path().filename().string()] = e.path().string();
  auto index = json::parse(TRY(sys::readFile(dir + "/index.json")), nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    return fail(Code::InvalidArgument, "archive index.json has no manifests");
  std::vector<Named> out;
  for (const auto& m : index["manifests"]) {
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string()) continue;
    std::string name;
    if (m.contains("annotations") && m["annotations"].is_object()) {
      const auto& a = m["annotations"];
      if (a.contains("io.containerd.image.name") && a["io.containerd.image.name"].is_string())
        name = a["io.containerd.image.name"];
      else if (a.contains("org.opencontainers.image.ref.name") && a["org.opencontainers.image.ref.name"].is_string())
        name = a["org.opencontainers.image.ref.name"];
    }
    out.push_back({name, m["digest"].get<std::string>()});
  }
  return out;
}

// docker save: manifest.json lists config and layer files; the manifest
// that a registry would have served is written here from them.
Result<std::vector<Named>> loadDockerSave(const std::string& dir, ArchiveRegistry& reg) {
  auto list = json::parse(TRY(sys::readFile(dir + "/manifest.json")), nullptr, false);
  if (!list.is_array()) return fail(Code::InvalidArgument, "archive manifest.json is not a list");
  std::vector<Named> out;
  for (const auto& entry : list) {
    if (!entry.is_object() || !entry.contains("Config") || !entry.contains("Layers"))
      return fail(Code::InvalidArgument, "archive manifest.json entry lacks Config or Layers");
    auto describe = [&](const std::string& rel, std::string mediaType) -> Result<json> {
      if (rel.find("..") != std::string::npos) return fail(Code::InvalidArgument, "archive path " + rel + " escapes");
      std::string path = dir + "/" + rel;
      auto data = TRY(sys::readFile(path));
      std::string digest = sha256(data);
      reg.blobs[digest] = path;
      if (mediaType.empty())
        mediaType = data.size() > 2 && uint8_t(data[0]) == 0x1f && uint8_t(data[1]) == 0x8b
                        ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                        : "application/vnd.docker.image.rootfs.diff.tar";
      return json{{"mediaType", mediaType}, {"digest", digest}, {"size", data.size()}};
    };
    json manifest{{"schemaVersion", 2}, {"mediaType", media::kDockerManifest}};
    manifest["config"] = TRY(describe(entry["Config"].get<std::string>(), std::string(media::kDockerConfig)));
    manifest["layers"] = json::array();
    for (const auto& l : entry["Layers"]) manifest["layers"].push_back(TRY(describe(l.get<std::string>(), "")));
    std::string body = manifest.dump();
    std::string digest = sha256(body);
    reg.manifests[digest] = {body, std::string(media::kDockerManifest), digest, "archive"};
    std::vector<std::string> tags;
    if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
      for (const auto& t : entry["RepoTags"]) tags.push_back(t.get<std::string>());
    if (tags.empty()) out.push_back({"", digest});
    for (const auto& t : tags) out.push_back({t, digest});
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ImageStore::importArchive(const std::string& path) {
  static std::atomic<int> counter{0};
  std::string dir =
      content_.paths().contentIngest("import-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  TRY(sys::mkdirAll(dir, 0700));
  sys::UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return failErrno("open " + dir, errno);
  // Sniff gzip so that both .tar and .tar.gz work.
  unsigned char magic[2] = {0, 0};
  {
    sys::UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.valid()) return failErrno("import " + path, errno);
    if (::read(f.get(), magic, 2) < 0) return failErrno("read " + path, errno);
  }
  bool gz = magic[0] == 0x1f && magic[1] == 0x8b;
  auto stream = TRY(storage::LayerStream::open(path, gz ? storage::Compression::Gzip : storage::Compression::None, 0));
  TRY_CTX(storage::unpackLayer(root.get(), *stream, {.allowDevices = false}), "unpack archive " + path);

  ArchiveRegistry reg;
  std::vector<Named> images;
  if (fs::exists(dir + "/index.json")) {
    images = TRY(loadOciLayout(dir, reg));
  } else if (fs::exists(dir + "/manifest.json")) {
    images = TRY(loadDockerSave(dir, reg));
  } else {
    return fail(Code::InvalidArgument, path + " is neither an OCI image layout nor a docker save archive");
  }
  if (images.empty()) return fail(Code::InvalidArgument, path + " holds no image");
  std::vector<std::string> ids;
  for (const auto& named : images) {
    // An OCI ref.name may be a bare tag ("1.0"): such images come in untagged.
    Reference ref;
    bool qualified = named.refName.find_first_of("/:") != std::string::npos;
    if (qualified) ref = TRY(parseReference(named.refName));
    ref.digest = named.key;  // fetched by the digest the archive names
    std::string id = TRY(pullFrom(reg, ref));
    log::info("imported image",
              {{"archive", path}, {"image", ref.path.empty() ? "(untagged)" : ref.tagged()}, {"id", id}});
    ids.push_back(id);
  }
  return ids;
}

}  // namespace crix::image
