// Image references: the Docker/OCI grammar, normalised as the kubelet sees
// them. Pure: no I/O.
//
//   busybox                    → docker.io/library/busybox:latest
//   localhost:5000/a/b:1.0     → localhost:5000/a/b:1.0
//   quay.io/x/y@sha256:<hex>   → quay.io/x/y@sha256:<hex>
//   name:tag@sha256:<hex>      → the digest decides; the tag is kept for display
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace crix::image {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string domain;  // registry host[:port], e.g. "docker.io"
  std::string path;    // repository path, e.g. "library/busybox"
  std::string tag;     // empty when the reference is by digest only
  std::string digest;  // "sha256:<hex>" or empty

  std::string name() const { return domain + "/" + path; }                       // docker.io/library/busybox
  std::string string() const;                                                    // name[:tag][@digest]
  std::string tagged() const { return name() + ":" + tag; }                      // for RepoTags
  std::string digested(const std::string& d) const { return name() + "@" + d; }  // for RepoDigests
  bool operator==(const Reference&) const = default;
};

// Parses and normalises `text`. References without a registry go to
// `defaultDomain`; without tag or digest they get ":latest". Errors are
// InvalidArgument and name the reference.
Result<Reference> parseReference(std::string_view text, std::string_view defaultDomain = kDockerHub);

// True when `text` names its registry explicitly (its first component has a
// dot or a port, or is "localhost").
bool hasExplicitDomain(std::string_view text);

// The references to try for `text`: itself when it names a registry, else
// one per unqualified-search registry, in order.
Result<std::vector<Reference>> candidates(std::string_view text, const std::vector<std::string>& searchRegistries);

// "sha256:<64 lowercase hex>".
bool isValidDigest(std::string_view digest);

}  // namespace crix::image
