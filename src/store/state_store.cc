#include "store/state_store.h"

#include "store/migrations.h"
#include "store/statement.h"

namespace crix::store {
namespace {

Result<int> userVersion(sqlite3* db) {
  auto st = TRY(Statement::prepare(db, "PRAGMA user_version"));
  if (!TRY(st.step())) return 0;
  return static_cast<int>(st.integer(0));
}

// quick_check reads every page; it is what tells a torn or foreign file
// apart from a database before crixd writes anything to it.
Result<> checkIntegrity(sqlite3* db, const std::string& path) {
  auto st = Statement::prepare(db, "PRAGMA quick_check");
  if (!st)
    return fail(Code::FailedPrecondition, "database " + path + " is unreadable or corrupt: " + sqlite3_errmsg(db));
  auto row = st->step();
  if (!row)
    return fail(Code::FailedPrecondition, "database " + path + " is unreadable or corrupt: " + sqlite3_errmsg(db));
  std::string verdict = *row ? st->text(0) : "";
  if (verdict != "ok") return fail(Code::FailedPrecondition, "database " + path + " is corrupt: " + verdict);
  return {};
}

Result<> migrate(sqlite3* db, int from, const std::string& path) {
  const auto& list = migrations();
  for (int v = from; v < static_cast<int>(list.size()); ++v) {
    TRY(exec(db, "BEGIN IMMEDIATE"));
    auto done = exec(db, std::string(list[v]));
    if (done) done = exec(db, "PRAGMA user_version = " + std::to_string(v + 1));
    if (done) done = exec(db, "COMMIT");
    if (!done) {
      (void)exec(db, "ROLLBACK");
      return fail(done.error().wrap("migrate database " + path + " from schema " + std::to_string(v)));
    }
  }
  return {};
}

template <typename T>
Result<std::optional<T>> first(Result<std::vector<T>> rows) {
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

Result<bool> deleteWhere(sqlite3* db, std::string_view sql, const std::string& key) {
  auto st = TRY(Statement::prepare(db, sql));
  TRY(st.bind(1, key).run());
  return sqlite3_changes(db) > 0;
}

template <typename T, typename Read>
Result<std::vector<T>> query(sqlite3* db, std::string_view sql, const std::string* key, Read read) {
  auto st = TRY(Statement::prepare(db, sql));
  if (key) st.bind(1, *key);
  std::vector<T> out;
  while (TRY(st.step())) out.push_back(read(st));
  return out;
}

constexpr std::string_view kSandboxCols = "SELECT id, name, state, created_at, data FROM sandboxes";
SandboxRecord readSandbox(const Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.integer(3), st.text(4)};
}

constexpr std::string_view kContainerCols = "SELECT id, sandbox_id, name, state, created_at, data FROM containers";
ContainerRecord readContainer(const Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4), st.text(5)};
}

constexpr std::string_view kLayerCols = "SELECT chain_id, coalesce(parent, ''), diff_id, size FROM layers";
LayerRecord readLayer(const Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.integer(3)};
}

constexpr std::string_view kImageCols = "SELECT id, size, data FROM images";
ImageRecord readImage(const Statement& st) {
  return {st.text(0), st.integer(1), st.text(2), {}};
}

}  // namespace

int latestSchemaVersion() {
  return static_cast<int>(migrations().size());
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  if (rc != SQLITE_OK)
    return fail(Code::FailedPrecondition,
                "open database " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  sqlite3_busy_timeout(db.get(), 5000);
  sqlite3_extended_result_codes(db.get(), 1);

  TRY(checkIntegrity(db.get(), path));
  int version = TRY_CTX(userVersion(db.get()), "database " + path);
  if (version > latestSchemaVersion())
    return fail(Code::FailedPrecondition, "database " + path + " has schema version " + std::to_string(version) +
                                              ", newer than this crixd knows (" +
                                              std::to_string(latestSchemaVersion()) + "); refusing to touch it");
  // FULL: a committed pod or container survives a power cut, not only a crash.
  TRY_CTX(exec(db.get(), "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"),
          "configure database " + path);
  TRY(migrate(db.get(), version, path));
  return std::unique_ptr<StateStore>(new StateStore(db.release(), latestSchemaVersion()));
}

StateStore::~StateStore() {
  (void)close();
}

Result<> StateStore::close() {
  std::lock_guard lock(mu_);
  if (!db_) return {};
  // TRUNCATE leaves an empty WAL, and closing the last connection removes it.
  (void)exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  int rc = sqlite3_close(db_);
  db_ = nullptr;
  if (rc != SQLITE_OK) return fail(Code::Internal, "close database: " + std::string(sqlite3_errstr(rc)));
  return {};
}

Result<> StateStore::read(const std::function<Result<>(Tables&)>& fn) {
  std::lock_guard lock(mu_);
  if (!db_) return fail(Code::Unavailable, "database is closed");
  Tables t(db_);
  return fn(t);
}

Result<> StateStore::write(const std::function<Result<>(Tables&)>& fn) {
  std::lock_guard lock(mu_);
  if (!db_) return fail(Code::Unavailable, "database is closed");
  TRY_CTX(exec(db_, "BEGIN IMMEDIATE"), "begin transaction");
  Tables t(db_);
  auto result = fn(t);
  if (result) result = exec(db_, "COMMIT").map_error([](Error e) { return e.wrap("commit"); });
  if (!result) (void)exec(db_, "ROLLBACK");
  return result;
}

// --- sandboxes

Result<> Tables::putSandbox(const SandboxRecord& r) {
  auto st =
      TRY(Statement::prepare(db_,
                             "INSERT INTO sandboxes (id, name, state, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5) "
                             "ON CONFLICT(id) DO UPDATE SET name = ?2, state = ?3, created_at = ?4, data = ?5"));
  return st.bind(1, r.id)
      .bind(2, r.name)
      .bind(3, r.state)
      .bind(4, r.createdAt)
      .bind(5, r.data)
      .run()
      .map_error([&](Error e) { return e.wrap("store pod " + r.id); });
}

Result<std::optional<SandboxRecord>> Tables::getSandbox(const std::string& id) {
  return first(query<SandboxRecord>(db_, std::string(kSandboxCols) + " WHERE id = ?1", &id, readSandbox));
}

Result<std::vector<SandboxRecord>> Tables::listSandboxes() {
  return query<SandboxRecord>(db_, std::string(kSandboxCols) + " ORDER BY created_at, id", nullptr, readSandbox);
}

Result<bool> Tables::deleteSandbox(const std::string& id) {
  return deleteWhere(db_, "DELETE FROM sandboxes WHERE id = ?1", id);
}

// --- containers

Result<> Tables::putContainer(const ContainerRecord& r) {
  auto st = TRY(Statement::prepare(
      db_,
      "INSERT INTO containers (id, sandbox_id, name, state, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT(id) DO UPDATE SET sandbox_id = ?2, name = ?3, state = ?4, created_at = ?5, data = ?6"));
  return st.bind(1, r.id)
      .bind(2, r.sandboxId)
      .bind(3, r.name)
      .bind(4, r.state)
      .bind(5, r.createdAt)
      .bind(6, r.data)
      .run()
      .map_error([&](Error e) { return e.wrap("store container " + r.id); });
}

Result<std::optional<ContainerRecord>> Tables::getContainer(const std::string& id) {
  return first(query<ContainerRecord>(db_, std::string(kContainerCols) + " WHERE id = ?1", &id, readContainer));
}

Result<std::vector<ContainerRecord>> Tables::listContainers() {
  return query<ContainerRecord>(db_, std::string(kContainerCols) + " ORDER BY created_at, id", nullptr, readContainer);
}

Result<bool> Tables::deleteContainer(const std::string& id) {
  return deleteWhere(db_, "DELETE FROM containers WHERE id = ?1", id);
}

// --- layers

Result<> Tables::putLayer(const LayerRecord& r) {
  auto st = TRY(Statement::prepare(db_,
                                   "INSERT INTO layers (chain_id, parent, diff_id, size) VALUES (?1, ?2, ?3, ?4) "
                                   "ON CONFLICT(chain_id) DO UPDATE SET parent = ?2, diff_id = ?3, size = ?4"));
  st.bind(1, r.chainId);
  if (r.parent.empty())
    st.bindNull(2);
  else
    st.bind(2, r.parent);
  return st.bind(3, r.diffId).bind(4, r.size).run().map_error([&](Error e) {
    return e.wrap("store layer " + r.chainId);
  });
}

Result<std::optional<LayerRecord>> Tables::getLayer(const std::string& chainId) {
  return first(query<LayerRecord>(db_, std::string(kLayerCols) + " WHERE chain_id = ?1", &chainId, readLayer));
}

Result<std::vector<LayerRecord>> Tables::listLayers() {
  return query<LayerRecord>(db_, std::string(kLayerCols) + " ORDER BY chain_id", nullptr, readLayer);
}

Result<bool> Tables::deleteLayer(const std::string& chainId) {
  return deleteWhere(db_, "DELETE FROM layers WHERE chain_id = ?1", chainId);
}

// --- images

Result<> Tables::putImage(const ImageRecord& r) {
  auto wrap = [&](Error e) { return e.wrap("store image " + r.id); };
  auto st = TRY(Statement::prepare(db_,
                                   "INSERT INTO images (id, size, data) VALUES (?1, ?2, ?3) "
                                   "ON CONFLICT(id) DO UPDATE SET size = ?2, data = ?3"));
  TRY(st.bind(1, r.id).bind(2, r.size).bind(3, r.data).run().map_error(wrap));
  auto clear = TRY(Statement::prepare(db_, "DELETE FROM image_layers WHERE image_id = ?1"));
  TRY(clear.bind(1, r.id).run().map_error(wrap));
  for (size_t i = 0; i < r.layers.size(); ++i) {
    auto link =
        TRY(Statement::prepare(db_, "INSERT INTO image_layers (image_id, position, chain_id) VALUES (?1, ?2, ?3)"));
    TRY(link.bind(1, r.id).bind(2, static_cast<int64_t>(i)).bind(3, r.layers[i]).run().map_error(wrap));
  }
  return {};
}

namespace {
Result<> loadImageLayers(sqlite3* db, ImageRecord& img) {
  img.layers = TRY(query<std::string>(db, "SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY position",
                                      &img.id, [](const Statement& st) { return st.text(0); }));
  return {};
}
}  // namespace

Result<std::optional<ImageRecord>> Tables::getImage(const std::string& id) {
  auto img = TRY(first(query<ImageRecord>(db_, std::string(kImageCols) + " WHERE id = ?1", &id, readImage)));
  if (img) TRY(loadImageLayers(db_, *img));
  return img;
}

Result<std::vector<ImageRecord>> Tables::listImages() {
  auto images = TRY(query<ImageRecord>(db_, std::string(kImageCols) + " ORDER BY id", nullptr, readImage));
  for (auto& img : images) TRY(loadImageLayers(db_, img));
  return images;
}

Result<bool> Tables::deleteImage(const std::string& id) {
  return deleteWhere(db_, "DELETE FROM images WHERE id = ?1", id);
}

}  // namespace crix::store
