// The node's images: pulling (single-flight, layers in parallel), the index
// of tags and digests, removal and disk usage.
//
// Identity follows the kubelet: an image's ID is its config digest; one
// image pulled under two tags is one image with two RepoTags; a tag that
// moves to another image leaves the old image untagged but present.
// Records live in the store (images, layers, image_layers) and in memory;
// blobs in the ContentStore, unpacked layers in the LayerStore.
//
// Metrics: crix_image_pulls_total{result} counts pull() calls (a caller that
// joins a pull in flight counts too), crix_image_pull_bytes_total the bytes
// read from registries (manifests, configs, layers), and
// crix_image_pull_duration_seconds the time successful pulls took.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/content_store.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "metrics/registry.h"
#include "storage/layer_store.h"
#include "store/state_store.h"

namespace crix::image {

struct ImageOptions {
  std::vector<std::string> searchRegistries = {"docker.io"};
  std::vector<std::string> pinned;  // references that RemoveImage never removes
  int maxConcurrentDownloads = 3;
};

struct Image {
  std::string id;  // config digest
  std::vector<std::string> repoTags;
  std::vector<std::string> repoDigests;
  std::string manifestDigest;  // the platform manifest
  std::vector<std::string> chainIds;
  std::vector<std::string> layerBlobs;  // compressed layer digests, for import and re-export
  int64_t size = 0;                     // unpacked bytes of its layers
  std::string config;                   // the config JSON
  ImageConfig parsed;
  bool pinned = false;
};

// The JSON kept in an image's store record.
std::string imageRecordData(const Image& img);

// What a container of `img`, asked for as `asked`, reports as its image
// ref: the repo digest of the repository asked for (so that the kubelet's
// imageID names what it pulled), else the first repo digest, else the id.
std::string imageRefFor(const Image& img, std::string_view asked);

struct FsUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
};

class ImageStore {
 public:
  ImageStore(store::StateStore& db, ContentStore& content, storage::LayerStore& layers, RegistryClient& registry,
             ImageOptions opts, metrics::Registry& metrics);

  // Loads the index and removes blobs and layers no image records (left by
  // a crash in the middle of a pull or a removal).
  Result<> load();

  // Pulls `ref`; returns the image ID. Concurrent pulls of one reference
  // share one pull. "oci-archive:PATH" and "docker-archive:PATH" import a
  // local archive instead (see importArchive), but only one in the import
  // directory (Paths::importDir): any CRI client may call PullImage, and
  // crixd must not read whatever host file it names (InvalidArgument).
  Result<std::string> pull(std::string_view ref, const RegistryAuth& auth);

  // Loads every image of an OCI image layout archive or a `docker save`
  // archive (tar, optionally gzip) without a registry; returns their IDs.
  Result<std::vector<std::string>> importArchive(const std::string& path);

  // By ID (full, or a unique hex prefix of 12 or more), tag or digest reference.
  std::optional<Image> find(std::string_view refOrId) const;
  std::vector<Image> list() const;
  // Removes a tag (when the image has others and was named by that tag)
  // or the whole image with its blobs and unused layers. Absent: OK. An
  // image a container mounts as a volume stays: FailedPrecondition.
  Result<> remove(std::string_view refOrId);

  // Walks the layers and blobs only after they changed (a pull, a removal)
  // or a minute passed: the kubelet asks every 10 s.
  FsUsage imageFsUsage() const;

  // Who else holds layers: returns the chain IDs under containers' root
  // filesystems. They stay, even after their image is removed, until those
  // containers are gone. Set once, before serving.
  void setLayersInUse(std::function<std::set<std::string>()> inUse) { inUse_ = std::move(inUse); }
  // Who mounts images as volumes: image ID → a container that does. Set
  // once, before serving.
  void setVolumeImagesInUse(std::function<std::map<std::string, std::string>()> inUse) {
    volumesInUse_ = std::move(inUse);
  }
  // Removes layers that no image and no container needs (after a container
  // is removed, say).
  Result<> dropUnusedLayers();
  const ContentStore& content() const { return content_; }

 private:
  // The archive is a file inside the import directory, symlinks resolved.
  Result<> checkImportPath(const std::string& path) const;
  Result<std::string> pullAny(std::string_view ref, const RegistryAuth& auth);
  Result<std::string> pullOnce(const Reference& ref, const RegistryAuth& auth);
  // Fetches `ref` (by its tag or digest) from `source` and records it. A
  // ref with an empty path records an untagged image.
  Result<std::string> pullFrom(Registry& source, const Reference& ref);
  Result<> fetchLayers(Registry& registry, const ManifestDoc& manifest, const ImageConfig& config,
                       const std::string& name);
  Result<> commit(const Image& image, const Reference& ref, const std::string& repoDigest,
                  const std::vector<store::LayerRecord>& layers);
  bool isPinned(const Image& img) const;
  std::optional<Image> findLocked(std::string_view refOrId) const;

  store::StateStore& db_;
  ContentStore& content_;
  storage::LayerStore& layers_;
  RegistryClient& registry_;
  ImageOptions opts_;
  metrics::Counter &pullSuccesses_, &pullFailures_, &pullBytes_;
  metrics::Histogram& pullSeconds_;

  mutable std::mutex mu_;             // guards images_ and inflight_
  std::atomic<uint64_t> changes_{0};  // bumped whenever layers or blobs come or go
  mutable std::mutex usageMu_;        // guards the three below
  mutable std::optional<FsUsage> usage_;
  mutable uint64_t usageChanges_ = 0;
  mutable std::chrono::steady_clock::time_point usageAt_{};
  std::map<std::string, Image> images_;
  std::map<std::string, std::shared_future<Result<std::string>>> inflight_;
  std::function<std::set<std::string>()> inUse_;
  std::function<std::map<std::string, std::string>()> volumesInUse_;
  std::mutex layerMu_;  // one layer is fetched by one pull at a time
  std::map<std::string, std::shared_future<Result<>>> layerInflight_;
};

}  // namespace crix::image
