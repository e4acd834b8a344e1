// SQLite persistence for pods, containers, images and layers.
//
//   <root>/crix.db   (WAL; foreign keys on; PRAGMA user_version = schema version)
//
//   sandboxes ──< containers          (a container belongs to one pod)
//   images ──< image_layers >── layers ──┐ (a layer's parent is a layer)
//                                 ^──────┘
//
// All access goes through read() and write(): write() runs its function in
// one IMMEDIATE transaction, committed only if the function succeeds, so
// every multi-row change is atomic. The store holds one connection behind a
// mutex: crixd's writes are small and few, and this keeps SQLite's locking
// out of the picture. Unit tests of other layers use ":memory:".
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace crix::store {

// The newest schema this build knows; older databases migrate forward.
int latestSchemaVersion();

struct SandboxRecord {
  std::string id;
  std::string name;  // the reserved pod name, unique
  std::string state;
  int64_t createdAt = 0;  // ns since the epoch
  std::string data;       // JSON: everything else lifecycle/ keeps
  bool operator==(const SandboxRecord&) const = default;
};

struct ContainerRecord {
  std::string id;
  std::string sandboxId;
  std::string name;  // unique
  std::string state;
  int64_t createdAt = 0;
  std::string data;
  bool operator==(const ContainerRecord&) const = default;
};

struct ImageRecord {
  std::string id;  // config digest
  int64_t size = 0;
  std::string data;                 // JSON: tags, digests, config, manifest
  std::vector<std::string> layers;  // chain ids, base first
  bool operator==(const ImageRecord&) const = default;
};

struct LayerRecord {
  std::string chainId;
  std::string parent;  // empty for a base layer
  std::string diffId;
  int64_t size = 0;
  bool operator==(const LayerRecord&) const = default;
};

// Typed statements over one open connection; only valid inside read()/write().
class Tables {
 public:
  explicit Tables(sqlite3* db) : db_(db) {}

  Result<> putSandbox(const SandboxRecord& r);
  Result<std::optional<SandboxRecord>> getSandbox(const std::string& id);
  Result<std::vector<SandboxRecord>> listSandboxes();
  Result<bool> deleteSandbox(const std::string& id);

  Result<> putContainer(const ContainerRecord& r);
  Result<std::optional<ContainerRecord>> getContainer(const std::string& id);
  Result<std::vector<ContainerRecord>> listContainers();
  Result<bool> deleteContainer(const std::string& id);

  Result<> putImage(const ImageRecord& r);
  Result<std::optional<ImageRecord>> getImage(const std::string& id);
  Result<std::vector<ImageRecord>> listImages();
  Result<bool> deleteImage(const std::string& id);

  Result<> putLayer(const LayerRecord& r);
  Result<std::optional<LayerRecord>> getLayer(const std::string& chainId);
  Result<std::vector<LayerRecord>> listLayers();
  Result<bool> deleteLayer(const std::string& chainId);

 private:
  sqlite3* db_;
};

class StateStore {
 public:
  // Opens (creating if absent) and migrates the database. A corrupt file, or
  // one written by a newer crix, is refused and left untouched.
  static Result<std::unique_ptr<StateStore>> open(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  Result<> read(const std::function<Result<>(Tables&)>& fn);
  Result<> write(const std::function<Result<>(Tables&)>& fn);

  int schemaVersion() const { return version_; }
  // Checkpoints the WAL and closes; later calls fail. The destructor calls it.
  Result<> close();

 private:
  StateStore(sqlite3* db, int version) : db_(db), version_(version) {}
  std::mutex mu_;
  sqlite3* db_;
  int version_;
};

}  // namespace crix::store
