// OCI and Docker image manifests, indexes and configs. Pure parsing and
// platform selection; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "storage/layer_stream.h"

namespace crix::image {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media

// The Accept header a manifest request sends: everything crix can read.
std::string manifestAcceptHeader();

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;
  bool operator==(const Platform&) const = default;
};

// linux and the host's architecture in OCI terms (amd64, arm64/v8, arm/v7...).
Platform hostPlatform();

struct Descriptor {
  std::string mediaType;
  std::string digest;
  int64_t size = 0;
  Platform platform;  // index entries only
};

enum class ManifestKind { Index, Manifest };

// A parsed manifest or index: which one is decided by the body's mediaType,
// falling back to the response's Content-Type, then to the shape.
struct ManifestDoc {
  ManifestKind kind = ManifestKind::Manifest;
  std::string mediaType;
  Descriptor config;                  // Manifest
  std::vector<Descriptor> layers;     // Manifest
  std::vector<Descriptor> manifests;  // Index
};

Result<ManifestDoc> parseManifest(std::string_view body, std::string_view contentType);

// The index entry for `want`: os and architecture must match; a variant
// must match when both sides name one (arm64 treats "" and "v8" alike).
Result<Descriptor> selectPlatform(const ManifestDoc& index, const Platform& want);

using storage::Compression;
// What a layer media type means; unknown or non-distributable types fail.
Result<Compression> layerCompression(std::string_view mediaType);

// What crix needs from the image config.
struct ImageConfig {
  std::string architecture, os;
  std::string user, workingDir, stopSignal;
  std::vector<std::string> env, entrypoint, cmd;
  std::map<std::string, std::string> labels;
  std::vector<std::string> volumes;
  std::vector<std::string> diffIds;
  int64_t created = 0;  // ns since the epoch, 0 when absent
};

Result<ImageConfig> parseImageConfig(std::string_view body);

}  // namespace crix::image
