#include "image/registry.h"

#include <curl/curl.h>
#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/log.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "sys/fs.h"

namespace crix::image {
namespace {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string urlEncode(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // unless streamed
  CURLcode curl = CURLE_OK;
  std::string curlError;
  bool transportFailed() const { return curl != CURLE_OK; }
};

struct Request {
  std::string url;
  std::vector<std::string> headers;
  std::string method = "GET";
  std::string postBody;
  const BlobSink* sink = nullptr;  // stream the body of a 2xx response here
  std::optional<Error> sinkError;
  // Bytes the sink already has: asked for with a Range header, and dropped
  // from the front of a server's full (200) answer.
  int64_t offset = 0;
  int64_t toDrop = 0;  // per attempt
};

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  std::string line(data, size * n);
  if (line.starts_with("HTTP/")) resp->headers.clear();  // a new response after a redirect
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    resp->headers[lower(line.substr(0, colon))] = value;
  }
  return size * n;
}

struct WriteCtx {
  CURL* curl;
  Request* req;
  Response* resp;
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<WriteCtx*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
  if (!ctx->req->sink || status < 200 || status >= 300) {
    if (ctx->resp->body.size() < (4 << 20)) ctx->resp->body.append(data, len);
    return len;
  }
  size_t off = 0;
  if (status == 200 && ctx->req->toDrop > 0) {
    off = static_cast<size_t>(std::min<int64_t>(ctx->req->toDrop, static_cast<int64_t>(len)));
    ctx->req->toDrop -= static_cast<int64_t>(off);
  }
  if (off < len) {
    auto r = (*ctx->req->sink)(data + off, len - off);
    if (!r) {
      ctx->req->sinkError = r.error();
      return 0;  // aborts the transfer
    }
    ctx->req->offset += static_cast<int64_t>(len - off);
  }
  return len;
}

// CA bundle for a host: the system's plus <dir>/*.crt.
std::string caBundle(const std::string& dir) {
  std::string bundle;
  if (auto sys = sys::readFile("/etc/ssl/certs/ca-certificates.crt")) bundle = *sys;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return bundle;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.ends_with(".crt") || name.ends_with(".pem"))
      if (auto c = sys::readFile(dir + "/" + name)) bundle += "\n" + *c;
  }
  ::closedir(d);
  return bundle;
}

class Session final : public Registry {
 public:
  Session(const RegistryOptions& opts, Reference ref, RegistryAuth auth)
      : opts_(opts), ref_(std::move(ref)), auth_(std::move(auth)) {
    if (!auth_.auth.empty() && auth_.username.empty()) basic_ = auth_.auth;
    if (!auth_.username.empty()) basic_ = base64Encode(auth_.username + ":" + auth_.password);
    const RegistryHost* host = hostConfig(ref_.domain);
    if (host)
      for (const auto& m : host->mirrors) endpoints_.push_back({m, baseUrl(m, false), false});
    endpoints_.push_back({ref_.domain, baseUrl(ref_.domain, true), true});
  }

  Result<FetchedManifest> manifest(const std::string& tagOrDigest) override {
    std::string lastError;
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      auto& ep = endpoints_[i];
      Request req;
      req.url = ep.base + "/v2/" + ref_.path + "/manifests/" + tagOrDigest;
      req.headers.push_back("Accept: " + manifestAcceptHeader());
      auto resp = send(ep, req);
      if (!resp) {
        lastError += (lastError.empty() ? "" : "; ") + resp.error().message();
        if (!ep.upstream) continue;
        return fail(Error(resp.error().code(), lastError));
      }
      if (resp->status == 404 && !ep.upstream) {
        lastError += (lastError.empty() ? "" : "; ") + ("mirror " + ep.host + " does not have it");
        continue;  // the next mirror, or the registry itself, may
      }
      if (resp->status == 404)
        return fail(Code::NotFound, "image " + ref_.name() + ":" + tagOrDigest + " not found on " + ep.host);
      if (resp->status < 200 || resp->status >= 300) {
        lastError = describe(ep, *resp, "manifest");
        if (!ep.upstream) continue;
        return fail(statusCode(resp->status), lastError);
      }
      FetchedManifest m{std::move(resp->body), resp->headers["content-type"], "", ep.host};
      m.digest = sha256(m.body);
      if (tagOrDigest.starts_with("sha256:") && m.digest != tagOrDigest)
        return fail(Code::InvalidArgument, "manifest from " + ep.host + " does not match its digest: expected " +
                                               tagOrDigest + ", got " + m.digest);
      preferred_ = i;
      return m;
    }
    return fail(Code::Unavailable, "no endpoint of " + ref_.domain + " served the manifest: " + lastError);
  }

  Result<> blob(const std::string& digest, const BlobSink& sink) override {
    std::string lastError;
    // The endpoint that served the manifest first, then the others.
    std::vector<size_t> order{preferred_};
    for (size_t i = 0; i < endpoints_.size(); ++i)
      if (i != preferred_) order.push_back(i);
    int64_t delivered = 0;
    for (size_t i : order) {
      auto& ep = endpoints_[i];
      Request req;
      req.url = ep.base + "/v2/" + ref_.path + "/blobs/" + digest;
      req.sink = &sink;
      req.offset = delivered;
      auto resp = send(ep, req);
      delivered = req.offset;
      if (req.sinkError) return fail(*req.sinkError);
      if (!resp) {
        lastError = resp.error().message();
        continue;
      }
      if (resp->status >= 200 && resp->status < 300) return {};
      lastError = describe(ep, *resp, "blob " + digest);
      if (resp->status == 404 && !ep.upstream) continue;
      if (ep.upstream && resp->status < 500) return fail(statusCode(resp->status), lastError);
    }
    return fail(Code::Unavailable, "cannot fetch blob " + digest + ": " + lastError);
  }

 private:
  struct Endpoint {
    std::string host;
    std::string base;  // scheme://host
    bool upstream = false;
    std::string bearer;  // token for this endpoint, once obtained
  };

  const RegistryHost* hostConfig(const std::string& host) const {
    auto it = opts_.hosts.find(host);
    return it == opts_.hosts.end() ? nullptr : &it->second;
  }

  std::string baseUrl(const std::string& host, bool upstream) const {
    if (host.starts_with("http://") || host.starts_with("https://")) return host;
    const RegistryHost* h = hostConfig(host);
    bool insecure = h && h->insecure;
    std::string real = upstream && host == kDockerHub ? "registry-1.docker.io" : host;
    return std::string(insecure ? "http://" : "https://") + real;
  }

  static Code statusCode(long status) {
    if (status == 401 || status == 403) return Code::PermissionDenied;
    if (status == 404) return Code::NotFound;
    if (status == 429 || status >= 500) return Code::Unavailable;
    return Code::InvalidArgument;
  }

  std::string describe(const Endpoint& ep, const Response& r, const std::string& what) const {
    std::string body = r.body.substr(0, 300);
    return ep.host + " answered " + std::to_string(r.status) + " for " + what + (body.empty() ? "" : ": " + body);
  }

  // One request with retries and the auth dance: a 401 with a challenge
  // gets a token (or basic credentials) and one more try.
  Result<Response> send(Endpoint& ep, Request& req) {
    bool authTried = false;
    for (int attempt = 1;; ++attempt) {
      Response resp = perform(ep, req);
      if (req.sinkError) return resp;
      if (resp.transportFailed() || resp.status >= 500 || resp.status == 429) {
        if (attempt < opts_.attempts) {
          log::warn("registry request failed, retrying",
                    {{"url", req.url},
                     {"attempt", attempt},
                     {"error", resp.transportFailed() ? resp.curlError : std::to_string(resp.status)}});
          std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt * attempt));
          continue;  // resumes at req.offset
        }
        if (resp.transportFailed()) return fail(Code::Unavailable, "cannot reach " + ep.host + ": " + resp.curlError);
        return resp;
      }
      if (resp.status == 401 && !authTried) {
        authTried = true;
        TRY(authorize(ep, resp.headers["www-authenticate"]));
        continue;
      }
      return resp;
    }
  }

  Result<> authorize(Endpoint& ep, const std::string& header) {
    for (const auto& ch : parseAuthChallenges(header)) {
      if (ch.scheme == "basic") {
        if (basic_.empty()) return fail(Code::PermissionDenied, ep.host + " requires credentials and none were given");
        useBasic_ = true;
        return {};
      }
      if (ch.scheme == "bearer") {
        if (!auth_.registryToken.empty()) {
          ep.bearer = auth_.registryToken;
          return {};
        }
        auto realm = ch.params.find("realm");
        if (realm == ch.params.end())
          return fail(Code::PermissionDenied, ep.host + " sent a bearer challenge without a realm");
        std::string url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
        std::string service = ch.params.count("service") ? ch.params.at("service") : "";
        std::string scope = ch.params.count("scope") ? ch.params.at("scope") : "repository:" + ref_.path + ":pull";
        Request req;
        if (!auth_.identityToken.empty()) {
          req.url = realm->second;
          req.method = "POST";
          req.postBody = "grant_type=refresh_token&client_id=crix&refresh_token=" + urlEncode(auth_.identityToken) +
                         "&service=" + urlEncode(service) + "&scope=" + urlEncode(scope);
        } else {
          req.url = url + "service=" + urlEncode(service) + "&scope=" + urlEncode(scope);
          if (!basic_.empty()) req.headers.push_back("Authorization: Basic " + basic_);
        }
        Endpoint tokenEp{ep.host, "", false, ""};
        Response resp = perform(tokenEp, req, false);
        if (resp.transportFailed()) return fail(Code::Unavailable, "token service " + req.url + ": " + resp.curlError);
        if (resp.status != 200)
          return fail(Code::PermissionDenied, "token service " + realm->second + " answered " +
                                                  std::to_string(resp.status) + ": " + resp.body.substr(0, 200));
        auto j = nlohmann::json::parse(resp.body, nullptr, false);
        std::string token;
        if (j.is_object()) {
          if (j.contains("token") && j["token"].is_string()) token = j["token"];
          if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) token = j["access_token"];
        }
        if (token.empty()) return fail(Code::PermissionDenied, "token service " + realm->second + " returned no token");
        ep.bearer = token;
        return {};
      }
    }
    return fail(Code::PermissionDenied, ep.host + " refused access (challenge: \"" + header + "\")");
  }

  Response perform(const Endpoint& ep, Request& req, bool withAuth = true) {
    initCurlOnce();
    Response resp;
    CURL* c = curl_easy_init();
    curl_slist* headers = nullptr;
    for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    if (withAuth && !ep.bearer.empty())
      headers = curl_slist_append(headers, ("Authorization: Bearer " + ep.bearer).c_str());
    else if (withAuth && useBasic_)
      headers = curl_slist_append(headers, ("Authorization: Basic " + basic_).c_str());
    req.toDrop = req.offset;
    if (req.offset > 0)
      headers = curl_slist_append(headers, ("Range: bytes=" + std::to_string(req.offset) + "-").c_str());
    WriteCtx ctx{c, &req, &resp};
    char err[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(opts_.connectTimeout.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts_.stallTimeout.count()));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "crix/1");
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (req.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.postBody.c_str());
    }
    const RegistryHost* h = hostConfig(ep.host);
    std::string caDir = h && !h->caDir.empty() ? h->caDir : opts_.certsDir + "/" + ep.host;
    std::string bundle;
    if (::access(caDir.c_str(), R_OK) == 0) {
      bundle = caBundle(caDir);
      curl_blob blob{bundle.data(), bundle.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    resp.curl = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    if (resp.curl != CURLE_OK) resp.curlError = err[0] ? err : curl_easy_strerror(resp.curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return resp;
  }

  const RegistryOptions& opts_;
  Reference ref_;
  RegistryAuth auth_;
  std::string basic_;
  bool useBasic_ = false;
  std::vector<Endpoint> endpoints_;
  size_t preferred_ = 0;
};

}  // namespace

std::vector<AuthChallenge> parseAuthChallenges(std::string_view header) {
  std::vector<AuthChallenge> out;
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  while (i < header.size()) {
    skipSpace();
    size_t start = i;
    while (i < header.size() && header[i] != ' ' && header[i] != ',') ++i;
    if (i == start) {
      ++i;
      continue;
    }
    AuthChallenge ch;
    ch.scheme = lower(std::string(header.substr(start, i - start)));
    // key=value or key="value" pairs, comma separated, until the next scheme.
    for (;;) {
      skipSpace();
      size_t keyStart = i;
      while (i < header.size() && header[i] != '=' && header[i] != ',' && header[i] != ' ') ++i;
      if (i >= header.size() || header[i] != '=') {
        i = keyStart;
        break;
      }
      std::string key = lower(std::string(header.substr(keyStart, i - keyStart)));
      ++i;
      std::string value;
      if (i < header.size() && header[i] == '"') {
        ++i;
        while (i < header.size() && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value += header[i++];
        }
        ++i;
      } else {
        while (i < header.size() && header[i] != ',' && header[i] != ' ') value += header[i++];
      }
      ch.params[key] = value;
      skipSpace();
      if (i < header.size() && header[i] == ',') ++i;
    }
    out.push_back(std::move(ch));
  }
  return out;
}

RegistryClient::RegistryClient(RegistryOptions opts) : opts_(std::move(opts)) {}

std::unique_ptr<Registry> RegistryClient::open(const Reference& ref, const RegistryAuth& auth) {
  return std::make_unique<Session>(opts_, ref, auth);
}

}  // namespace crix::image
