#include "image/reference.h"

#include <cctype>

namespace crix::image {
namespace {

bool lowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: lower-case alphanumerics joined by single separators
// (".", "_", "__", or runs of "-").
bool validComponent(std::string_view c) {
  if (c.empty() || !lowerAlnum(c.front()) || !lowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (lowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !lowerAlnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
  }
  return true;
}

bool validHostLabel(std::string_view l) {
  if (l.empty() || !std::isalnum(static_cast<unsigned char>(l.front())) ||
      !std::isalnum(static_cast<unsigned char>(l.back())))
    return false;
  for (char c : l)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

bool validDomain(std::string_view d) {
  std::string_view host = d;
  auto colon = d.rfind(':');
  if (!d.empty() && d.front() == '[') {  // [ipv6]:port
    auto close = d.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view inner = d.substr(1, close - 1);
    if (inner.empty() || inner.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return false;
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || rest.size() < 2) return false;
    return rest.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
  }
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = d.substr(0, colon);
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!validHostLabel(host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

tl::unexpected<Error> bad(std::string_view text, const std::string& why) {
  return fail(Code::InvalidArgument, "invalid image reference \"" + std::string(text) + "\": " + why);
}

}  // namespace

bool isValidDigest(std::string_view digest) {
  if (!digest.starts_with("sha256:") || digest.size() != 7 + 64) return false;
  return digest.substr(7).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool hasExplicitDomain(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view first = text.substr(0, slash);
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
}

std::string Reference::string() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<Reference> parseReference(std::string_view text, std::string_view defaultDomain) {
  if (text.empty()) return bad(text, "empty");
  if (text.size() > 512) return bad(text.substr(0, 64), "longer than 512 characters");
  Reference ref;
  std::string_view rest = text;

  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (digest.starts_with("sha256:") && !isValidDigest(digest))
      return bad(text, "digest must be sha256: and 64 lower-case hex digits");
    if (!digest.starts_with("sha256:")) return bad(text, "unsupported digest algorithm (only sha256)");
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }

  // A tag follows the last ':' after the last '/' (a ':' before it is a port).
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!validTag(tag)) return bad(text, "invalid tag \"" + std::string(tag) + "\"");
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad(text, "no repository name");

  if (hasExplicitDomain(rest)) {
    auto first = rest.find('/');
    ref.domain = std::string(rest.substr(0, first));
    if (!validDomain(ref.domain)) return bad(text, "invalid registry \"" + ref.domain + "\"");
    rest = rest.substr(first + 1);
  } else {
    ref.domain = std::string(defaultDomain);
  }
  if (ref.domain == "index.docker.io" || ref.domain == "registry-1.docker.io") ref.domain = kDockerHub;

  size_t start = 0;
  while (true) {
    size_t sep = rest.find('/', start);
    std::string_view c = rest.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start);
    if (!validComponent(c)) {
      bool upper = c.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
      return bad(text,
                 upper ? "repository name must be lower-case" : "invalid path component \"" + std::string(c) + "\"");
    }
    if (sep == std::string_view::npos) break;
    start = sep + 1;
  }
  ref.path = std::string(rest);
  if (ref.domain == kDockerHub && ref.path.find('/') == std::string::npos) ref.path = "library/" + ref.path;
  if (ref.name().size() > 255) return bad(text, "repository name longer than 255 characters");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

Result<std::vector<Reference>> candidates(std::string_view text, const std::vector<std::string>& searchRegistries) {
  if (hasExplicitDomain(text) || searchRegistries.empty()) return std::vector<Reference>{TRY(parseReference(text))};
  std::vector<Reference> out;
  for (const auto& registry : searchRegistries) out.push_back(TRY(parseReference(text, registry)));
  return out;
}

}  // namespace crix::image
