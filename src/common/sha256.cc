#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace crix {

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : s_(std::make_unique<State>()) {
  if (!s_->ctx || EVP_DigestInit_ex(s_->ctx, EVP_sha256(), nullptr) != 1) std::abort();  // OpenSSL out of memory
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t n) {
  EVP_DigestUpdate(s_->ctx, data, n);
}

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(s_->ctx, md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

std::string sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

}  // namespace crix
