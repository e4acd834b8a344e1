// ImageStore::pull: resolve, fetch and unpack, then commit in one transaction.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/fault.h"
#include "common/log.h"
#include "image/digest.h"
#include "image/image_store.h"

namespace crix::image {
namespace {

using Clock = std::chrono::steady_clock;

// Pull progress, logged every few seconds from whichever download thread
// notices that it is time.
class Progress {
 public:
  Progress(std::string name, int64_t total) : name_(std::move(name)), total_(total), start_(Clock::now()) {}
  void add(int64_t n) {
    int64_t done = done_ += n;
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    if (now - last_ < std::chrono::seconds(3)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    log::info("pulling", {{"image", name_},
                          {"bytes", done},
                          {"total", total_},
                          {"rate_mb_s", std::to_string(rate / 1e6).substr(0, 6)},
                          {"eta_s", std::to_string(eta).substr(0, 5)}});
  }

 private:
  std::string name_;
  int64_t total_;
  std::atomic<int64_t> done_{0};
  Clock::time_point start_, last_ = Clock::now();
  std::mutex mu_;
};

}  // namespace

Result<std::string> ImageStore::pull(std::string_view text, const RegistryAuth& auth) {
  auto start = Clock::now();
  auto r = pullAny(text, auth);
  if (!r) {
    pullFailures_.inc();
    return r;
  }
  pullSuccesses_.inc();
  pullSeconds_.observe(Clock::now() - start);
  return r;
}

Result<> ImageStore::checkImportPath(const std::string& path) const {
  std::string dir = content_.paths().importDir();
  auto refuse = [&](const std::string& why) {
    return fail(Code::InvalidArgument, "archive \"" + path + "\" " + why + ": crixd reads archives only from " + dir +
                                           " (crixctl image import puts them there)");
  };
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return refuse("cannot be resolved (" + std::string(std::strerror(errno)) + ")");
  std::string resolved(real);
  std::free(real);
  char* realDir = ::realpath(dir.c_str(), nullptr);
  std::string base = realDir ? realDir : dir;
  std::free(realDir);
  if (!resolved.starts_with(base + "/")) return refuse("is outside the import directory");
  return {};
}

Result<std::string> ImageStore::pullAny(std::string_view text, const RegistryAuth& auth) {
  // Local archives, named as Podman's transports name them.
  for (std::string_view scheme : {"oci-archive:", "docker-archive:"}) {
    if (!text.starts_with(scheme)) continue;
    std::string path(text.substr(scheme.size()));
    TRY(checkImportPath(path));
    auto ids = TRY(importArchive(path));
    return ids.front();
  }
  auto refs = TRY(candidates(text, opts_.searchRegistries));
  std::optional<Error> firstError;
  for (const auto& ref : refs) {
    std::string key = ref.string();
    std::shared_future<Result<std::string>> fut;
    bool leader = false;
    std::promise<Result<std::string>> promise;
    {
      std::lock_guard lock(mu_);
      auto it = inflight_.find(key);
      if (it != inflight_.end()) {
        fut = it->second;
      } else {
        fut = promise.get_future().share();
        inflight_[key] = fut;
        leader = true;
      }
    }
    if (leader) {
      auto start = Clock::now();
      auto r = pullOnce(ref, auth);
      if (r) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        log::info("pulled image", {{"image", key}, {"id", *r}, {"ms", ms}});
      }
      promise.set_value(r);
      std::lock_guard lock(mu_);
      inflight_.erase(key);
    }
    auto r = fut.get();
    if (r) return r;
    if (!firstError) firstError = r.error();
  }
  return fail(firstError->wrap("pull " + std::string(text)));
}

Result<std::string> ImageStore::pullOnce(const Reference& ref, const RegistryAuth& auth) {
  auto registry = registry_.open(ref, auth);
  return pullFrom(*registry, ref);
}

Result<std::string> ImageStore::pullFrom(Registry& source, const Reference& ref) {
  Registry* registry = &source;
  auto top = TRY(registry->manifest(ref.digest.empty() ? ref.tag : ref.digest));
  pullBytes_.inc(static_cast<double>(top.body.size()));
  auto doc = TRY(parseManifest(top.body, top.contentType));
  std::string topDigest = top.digest;
  std::string manifestBody = top.body;
  std::string manifestDigest = top.digest;
  if (doc.kind == ManifestKind::Index) {
    auto chosen = TRY(selectPlatform(doc, hostPlatform()));
    auto m = TRY(registry->manifest(chosen.digest));
    pullBytes_.inc(static_cast<double>(m.body.size()));
    doc = TRY(parseManifest(m.body, chosen.mediaType.empty() ? m.contentType : chosen.mediaType));
    if (doc.kind != ManifestKind::Manifest)
      return fail(Code::InvalidArgument, "index entry " + chosen.digest + " is not an image manifest");
    manifestBody = m.body;
    manifestDigest = m.digest;
    TRY(content_.put(topDigest, top.body));
  }
  if (doc.config.mediaType != media::kOciConfig && doc.config.mediaType != media::kDockerConfig)
    return fail(Code::InvalidArgument, "unsupported image config media type \"" + doc.config.mediaType + "\"");
  for (const auto& l : doc.layers) TRY(layerCompression(l.mediaType));

  // The config: small, fetched whole and verified.
  std::string configBody;
  if (content_.has(doc.config.digest)) {
    configBody = TRY(content_.read(doc.config.digest));
  } else {
    auto writer = TRY(content_.writer(doc.config.digest, doc.config.size));
    TRY(registry->blob(doc.config.digest, [&](const char* p, size_t n) -> Result<> {
      configBody.append(p, n);
      pullBytes_.inc(static_cast<double>(n));
      return writer->write(p, n);
    }));
    TRY(writer->commit());
  }
  auto config = TRY(parseImageConfig(configBody));
  if (config.diffIds.size() != doc.layers.size())
    return fail(Code::InvalidArgument, "image config lists " + std::to_string(config.diffIds.size()) +
                                           " layers, its manifest " + std::to_string(doc.layers.size()));
  TRY(content_.put(manifestDigest, manifestBody));

  TRY(fetchLayers(*registry, doc, config, ref.string()));
  TRY(faultPoint("pull-before-commit"));

  Image img;
  img.id = doc.config.digest;
  img.manifestDigest = manifestDigest;
  img.chainIds = chainIds(config.diffIds);
  for (const auto& l : doc.layers) img.layerBlobs.push_back(l.digest);
  img.config = configBody;
  img.parsed = config;
  std::vector<store::LayerRecord> layerRecords;
  for (size_t i = 0; i < img.chainIds.size(); ++i) {
    int64_t bytes = layers_.recordedSize(img.chainIds[i]);
    img.size += bytes;
    layerRecords.push_back({img.chainIds[i], i ? img.chainIds[i - 1] : "", config.diffIds[i], bytes});
  }
  TRY(commit(img, ref, ref.path.empty() ? "" : ref.digested(topDigest), layerRecords));
  return img.id;
}

Result<> ImageStore::fetchLayers(Registry& registry, const ManifestDoc& manifest, const ImageConfig& config,
                                 const std::string& name) {
  auto chains = chainIds(config.diffIds);
  int64_t total = 0;
  for (const auto& l : manifest.layers) total += l.size;
  Progress progress(name, total);

  // Each layer: download into the content store (verified), unpack, drop the
  // compressed blob. Layers are independent directories, so they unpack in
  // any order and in parallel.
  auto fetchOne = [&](size_t i) -> Result<> {
    const auto& desc = manifest.layers[i];
    if (layers_.has(chains[i])) return {};
    if (!content_.has(desc.digest)) {
      auto writer = TRY(content_.writer(desc.digest, desc.size));
      TRY(registry.blob(desc.digest, [&](const char* p, size_t n) -> Result<> {
        progress.add(static_cast<int64_t>(n));
        pullBytes_.inc(static_cast<double>(n));
        return writer->write(p, n);
      }));
      TRY(writer->commit());
    }
    auto compression = TRY(layerCompression(desc.mediaType));
    auto applied = layers_.apply(chains[i], config.diffIds[i], content_.path(desc.digest), compression);
    (void)content_.remove(desc.digest);
    if (!applied) return fail(applied.error());
    return {};
  };
  // One fetch per layer across concurrent pulls: a second pull waits for the first.
  auto shared = [&](size_t i) -> Result<> {
    std::promise<Result<>> promise;
    std::shared_future<Result<>> fut;
    bool leader = false;
    {
      std::lock_guard lock(layerMu_);
      auto it = layerInflight_.find(chains[i]);
      if (it != layerInflight_.end()) {
        fut = it->second;
      } else {
        fut = promise.get_future().share();
        layerInflight_[chains[i]] = fut;
        leader = true;
      }
    }
    if (leader) {
      promise.set_value(fetchOne(i));
      std::lock_guard lock(layerMu_);
      layerInflight_.erase(chains[i]);
    }
    return fut.get();
  };

  std::atomic<size_t> next{0};
  std::vector<std::optional<Error>> errors(manifest.layers.size());
  auto worker = [&] {
    for (size_t i = next++; i < manifest.layers.size(); i = next++) {
      auto r = shared(i);
      if (!r) errors[i] = r.error();
    }
  };
  size_t n = std::min<size_t>(std::max(1, opts_.maxConcurrentDownloads), manifest.layers.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < errors.size(); ++i)
    if (errors[i]) return fail(errors[i]->wrap("layer " + manifest.layers[i].digest));
  return {};
}

Result<> ImageStore::commit(const Image& pulled, const Reference& ref, const std::string& repoDigest,
                            const std::vector<store::LayerRecord>& layers) {
  std::lock_guard lock(mu_);
  Image img = pulled;
  if (auto it = images_.find(img.id); it != images_.end()) {
    img.repoTags = it->second.repoTags;
    img.repoDigests = it->second.repoDigests;
  }
  std::string tag = ref.tag.empty() || ref.path.empty() ? "" : ref.tagged();
  if (!tag.empty() && std::find(img.repoTags.begin(), img.repoTags.end(), tag) == img.repoTags.end())
    img.repoTags.push_back(tag);
  if (!repoDigest.empty() &&
      std::find(img.repoDigests.begin(), img.repoDigests.end(), repoDigest) == img.repoDigests.end())
    img.repoDigests.push_back(repoDigest);
  img.pinned = isPinned(img);

  // The tag leaves any other image that had it.
  std::vector<Image> untagged;
  for (const auto& [id, other] : images_) {
    if (id == img.id || tag.empty()) continue;
    if (std::find(other.repoTags.begin(), other.repoTags.end(), tag) == other.repoTags.end()) continue;
    Image o = other;
    o.repoTags.erase(std::remove(o.repoTags.begin(), o.repoTags.end(), tag), o.repoTags.end());
    o.pinned = isPinned(o);
    untagged.push_back(o);
  }
  TRY(db_.write([&](store::Tables& t) -> Result<> {
    for (const auto& l : layers) TRY(t.putLayer(l));
    TRY(t.putImage({img.id, img.size, imageRecordData(img), img.chainIds}));
    for (const auto& o : untagged) TRY(t.putImage({o.id, o.size, imageRecordData(o), o.chainIds}));
    return {};
  }));
  images_[img.id] = img;
  for (const auto& o : untagged) images_[o.id] = o;
  ++changes_;
  return {};
}

}  // namespace crix::image
