#include "image/image_store.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "image/digest.h"
#include "image/reference.h"

namespace crix::image {

using nlohmann::json;

std::string imageRefFor(const Image& img, std::string_view asked) {
  if (auto ref = parseReference(asked)) {
    std::string prefix = ref->name() + "@";
    for (const auto& d : img.repoDigests)
      if (d.starts_with(prefix)) return d;
  }
  return img.repoDigests.empty() ? img.id : img.repoDigests.front();
}

std::string imageRecordData(const Image& img) {
  return json{{"repoTags", img.repoTags},
              {"repoDigests", img.repoDigests},
              {"manifestDigest", img.manifestDigest},
              {"layerBlobs", img.layerBlobs}}
      .dump();
}

namespace {

void erase(std::vector<std::string>& v, const std::string& s) {
  v.erase(std::remove(v.begin(), v.end(), s), v.end());
}

}  // namespace

ImageStore::ImageStore(store::StateStore& db, ContentStore& content, storage::LayerStore& layers,
                       RegistryClient& registry, ImageOptions opts, metrics::Registry& metrics)
    : db_(db),
      content_(content),
      layers_(layers),
      registry_(registry),
      opts_(std::move(opts)),
      pullSuccesses_(
          metrics.counters("crix_image_pulls_total", "Image pulls, by result.", {"result"}).with({"success"})),
      pullFailures_(
          metrics.counters("crix_image_pulls_total", "Image pulls, by result.", {"result"}).with({"failure"})),
      pullBytes_(metrics.counter("crix_image_pull_bytes_total",
                                 "Bytes read from registries by image pulls: manifests, configs and layers.")),
      pullSeconds_(metrics.histogram("crix_image_pull_duration_seconds", "Time successful image pulls took.",
                                     metrics::kSlowBuckets)) {}

Result<> ImageStore::load() {
  std::vector<store::ImageRecord> records;
  std::vector<store::LayerRecord> layerRecords;
  TRY(db_.read([&](store::Tables& t) -> Result<> {
    records = TRY(t.listImages());
    layerRecords = TRY(t.listLayers());
    return {};
  }));
  std::map<std::string, Image> loaded;
  std::set<std::string> keepBlobs;
  for (const auto& r : records) {
    Image img;
    img.id = r.id;
    img.size = r.size;
    img.chainIds = r.layers;
    auto data = json::parse(r.data, nullptr, false);
    if (data.is_object()) {
      img.repoTags = data.value("repoTags", std::vector<std::string>{});
      img.repoDigests = data.value("repoDigests", std::vector<std::string>{});
      img.manifestDigest = data.value("manifestDigest", "");
      img.layerBlobs = data.value("layerBlobs", std::vector<std::string>{});
    }
    auto config = content_.read(img.id);
    if (!config) {
      log::warn("image config blob missing; the image must be pulled again", {{"image", img.id}});
      continue;
    }
    img.config = *config;
    if (auto parsed = parseImageConfig(img.config)) img.parsed = *parsed;
    img.pinned = isPinned(img);
    keepBlobs.insert(img.id);
    keepBlobs.insert(img.manifestDigest);
    loaded[img.id] = std::move(img);
  }
  // Sweep: layers and blobs that no record names are leftovers of a crash.
  std::set<std::string> keepLayers;
  for (const auto& l : layerRecords) keepLayers.insert(l.chainId);
  layers_.sweep(keepLayers);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(content_.paths().contentBlobsDir(), ec)) {
    std::string digest = "sha256:" + e.path().filename().string();
    if (keepBlobs.count(digest)) continue;
    // Index manifests are kept under their own digest: keep those named by a repo digest.
    bool named = false;
    for (const auto& [id, img] : loaded)
      for (const auto& rd : img.repoDigests)
        if (rd.ends_with("@" + digest)) named = true;
    if (named) continue;
    log::info("removing blob no image records", {{"blob", digest}});
    (void)content_.remove(digest);
  }
  std::lock_guard lock(mu_);
  images_ = std::move(loaded);
  return {};
}

bool ImageStore::isPinned(const Image& img) const {
  for (const auto& p : opts_.pinned) {
    auto ref = parseReference(p);
    if (!ref) continue;
    std::string s = ref->string();
    if (std::find(img.repoTags.begin(), img.repoTags.end(), s) != img.repoTags.end()) return true;
    if (std::find(img.repoDigests.begin(), img.repoDigests.end(), s) != img.repoDigests.end()) return true;
  }
  return false;
}

std::optional<Image> ImageStore::find(std::string_view refOrId) const {
  std::lock_guard lock(mu_);
  return findLocked(refOrId);
}

std::optional<Image> ImageStore::findLocked(std::string_view refOrId) const {
  std::string key(refOrId);
  if (key.starts_with("sha256:") && images_.count(key)) return images_.at(key);
  // A bare hex ID or a unique prefix of one.
  std::string hex = key.starts_with("sha256:") ? key.substr(7) : key;
  if (hex.size() >= 12 && hex.find_first_not_of("0123456789abcdef") == std::string::npos) {
    const Image* match = nullptr;
    for (const auto& [id, img] : images_) {
      if (id.compare(7, hex.size(), hex) == 0) {
        if (match) return std::nullopt;  // ambiguous
        match = &img;
      }
    }
    if (match) return *match;
  }
  auto ref = parseReference(refOrId);
  if (!ref) return std::nullopt;
  for (const auto& [id, img] : images_) {
    if (!ref->digest.empty()) {
      if (std::find(img.repoDigests.begin(), img.repoDigests.end(), ref->digested(ref->digest)) !=
          img.repoDigests.end())
        return img;
      continue;
    }
    if (std::find(img.repoTags.begin(), img.repoTags.end(), ref->tagged()) != img.repoTags.end()) return img;
  }
  return std::nullopt;
}

std::vector<Image> ImageStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<Image> out;
  for (const auto& [id, img] : images_) out.push_back(img);
  return out;
}

Result<> ImageStore::remove(std::string_view refOrId) {
  // Asked before the lock, as dropUnusedLayers asks for layers.
  auto volumes = volumesInUse_ ? volumesInUse_() : std::map<std::string, std::string>{};
  std::unique_lock lock(mu_);
  auto found = findLocked(refOrId);
  if (!found) return {};
  Image img = *found;
  if (img.pinned)
    return fail(Code::FailedPrecondition, "image " + std::string(refOrId) + " (" + img.id +
                                              ") is pinned by the configuration and cannot be removed");
  auto ref = parseReference(refOrId);
  bool byTag = ref && ref->digest.empty() &&
               std::find(img.repoTags.begin(), img.repoTags.end(), ref->tagged()) != img.repoTags.end();
  if (byTag && img.repoTags.size() > 1) {
    erase(img.repoTags, ref->tagged());
    TRY(db_.write([&](store::Tables& t) -> Result<> {
      return t.putImage({img.id, img.size, imageRecordData(img), img.chainIds});
    }));
    images_[img.id] = img;
    return {};
  }
  if (auto v = volumes.find(img.id); v != volumes.end())
    return fail(Code::FailedPrecondition, "image " + std::string(refOrId) + " (" + img.id +
                                              ") is mounted as a volume by container " + v->second +
                                              "; remove the container first");
  TRY(db_.write([&](store::Tables& t) -> Result<> { return t.deleteImage(img.id).map([](bool) {}); }));
  images_.erase(img.id);
  ++changes_;
  lock.unlock();
  (void)content_.remove(img.id);
  (void)content_.remove(img.manifestDigest);
  for (const auto& rd : img.repoDigests) (void)content_.remove(rd.substr(rd.find('@') + 1));
  log::info("removed image", {{"image", img.id}});
  return dropUnusedLayers();
}

Result<> ImageStore::dropUnusedLayers() {
  std::vector<store::LayerRecord> unused;
  // Layers under containers stay, whether or not their image does. Asked
  // before the database lock: the container manager takes its own lock and
  // then the database's (persist), so asking inside would deadlock.
  std::set<std::string> used = inUse_ ? inUse_() : std::set<std::string>{};
  TRY(db_.write([&](store::Tables& t) -> Result<> {
    auto layers = TRY(t.listLayers());
    auto images = TRY(t.listImages());
    for (const auto& img : images)
      for (const auto& l : img.layers) used.insert(l);
    // A layer is needed while any layer above it is: keep parents of used layers.
    std::map<std::string, std::string> parent;
    for (const auto& l : layers) parent[l.chainId] = l.parent;
    std::set<std::string> needed;
    for (const auto& u : used)
      for (std::string c = u; !c.empty() && needed.insert(c).second; c = parent[c]) {
      }
    for (const auto& l : layers)
      if (!needed.count(l.chainId)) unused.push_back(l);
    // Children before parents, for the foreign key.
    std::sort(unused.begin(), unused.end(), [&](const auto& a, const auto& b) {
      auto depth = [&](std::string c) {
        int d = 0;
        while (!c.empty()) c = parent[c], ++d;
        return d;
      };
      return depth(a.chainId) > depth(b.chainId);
    });
    for (const auto& l : unused) TRY(t.deleteLayer(l.chainId));
    return {};
  }));
  for (const auto& l : unused) {
    TRY(layers_.remove(l.chainId));
    log::info("removed layer", {{"layer", l.chainId}});
  }
  if (!unused.empty()) ++changes_;
  return {};
}

FsUsage ImageStore::imageFsUsage() const {
  std::lock_guard lock(usageMu_);
  auto now = std::chrono::steady_clock::now();
  uint64_t changes = changes_.load();
  if (usage_ && usageChanges_ == changes && now - usageAt_ < std::chrono::minutes(1)) return *usage_;
  auto layers = storage::diskUsage(layers_.paths().layersDir());
  auto blobs = storage::diskUsage(content_.paths().contentBlobsDir());
  usage_ = FsUsage{layers.bytes + blobs.bytes, layers.inodes + blobs.inodes};
  usageChanges_ = changes;
  usageAt_ = now;
  return *usage_;
}

}  // namespace crix::image
