#include "store/migrations.h"

namespace crix::store {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> list = {
      // 0 → 1: the first schema.
      R"sql(
CREATE TABLE sandboxes (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  state      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  data       TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE containers (
  id         TEXT PRIMARY KEY,
  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE RESTRICT,
  name       TEXT NOT NULL UNIQUE,
  state      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX containers_by_sandbox ON containers(sandbox_id);
CREATE TABLE layers (
  chain_id TEXT PRIMARY KEY,
  parent   TEXT REFERENCES layers(chain_id) ON DELETE RESTRICT,
  diff_id  TEXT NOT NULL,
  size     INTEGER NOT NULL
);
CREATE TABLE images (
  id   TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE image_layers (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  chain_id TEXT NOT NULL REFERENCES layers(chain_id) ON DELETE RESTRICT,
  PRIMARY KEY (image_id, position)
);
)sql",
  };
  return list;
}

}  // namespace crix::store
