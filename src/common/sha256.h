// SHA-256 digests in the OCI form "sha256:<hex>".
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace crix {

// Incremental hashing for streamed blobs and layers.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string digest();  // "sha256:<hex>"; call once

 private:
  struct State;
  std::unique_ptr<State> s_;
};

std::string sha256(std::string_view data);

// The hex part of "sha256:<hex>".
inline std::string_view hexOf(std::string_view digest) {
  auto colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

}  // namespace crix
