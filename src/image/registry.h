// The OCI distribution (v2) client: manifests and blobs over HTTP(S) with
// libcurl, bearer-token and basic auth, mirrors, retries and timeouts.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/reference.h"

namespace crix::image {

// Credentials from the CRI AuthConfig.
struct RegistryAuth {
  std::string username, password;
  std::string auth;           // base64("user:password")
  std::string identityToken;  // an OAuth2 refresh token
  std::string registryToken;  // a bearer token, used as is
  bool empty() const { return username.empty() && auth.empty() && identityToken.empty() && registryToken.empty(); }
};

struct RegistryHost {
  bool insecure = false;             // plain HTTP
  std::vector<std::string> mirrors;  // host[:port], tried in order before the registry itself
  std::string caDir;                 // extra CA certificates (*.crt) for this host
};

struct RegistryOptions {
  std::map<std::string, RegistryHost> hosts;  // by registry host[:port]
  std::chrono::seconds connectTimeout{10};
  std::chrono::seconds stallTimeout{30};       // a transfer that moves no byte for this long fails
  int attempts = 3;                            // per endpoint, for 5xx and dropped connections
  std::string certsDir = "/etc/crix/certs.d";  // <certsDir>/<host>/*.crt when a host names no caDir
};

struct FetchedManifest {
  std::string body;
  std::string contentType;
  std::string digest;  // of the body, checked against a requested digest
  std::string endpoint;
};

using BlobSink = std::function<Result<>(const char* data, size_t n)>;

// One repository on one registry (and its mirrors), for one pull.
class Registry {
 public:
  virtual ~Registry() = default;
  // tagOrDigest: a tag, or "sha256:..." (the body is then verified).
  virtual Result<FetchedManifest> manifest(const std::string& tagOrDigest) = 0;
  virtual Result<> blob(const std::string& digest, const BlobSink& sink) = 0;
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryOptions opts);
  virtual ~RegistryClient() = default;
  virtual std::unique_ptr<Registry> open(const Reference& ref, const RegistryAuth& auth);

 private:
  RegistryOptions opts_;
};

// Parses `Bearer realm="...",service="...",scope="..."` and `Basic realm=...`.
struct AuthChallenge {
  std::string scheme;  // "bearer" or "basic", lower-case
  std::map<std::string, std::string> params;
};
std::vector<AuthChallenge> parseAuthChallenges(std::string_view header);

}  // namespace crix::image
