#include "store/statement.h"

namespace crix::store {

Error sqliteError(sqlite3* db, std::string_view what) {
  int rc = sqlite3_extended_errcode(db);
  Code code = Code::Internal;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) code = Code::AlreadyExists;
  if ((rc & 0xff) == SQLITE_BUSY) code = Code::Unavailable;
  return Error(code, std::string(what) + ": " + sqlite3_errmsg(db));
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
    return fail(sqliteError(db, "prepare \"" + std::string(sql) + "\""));
  return Statement(db, stmt);
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(sqliteError(db_, "step"));
}

Result<> Statement::run() {
  while (TRY(step())) {
  }
  return {};
}

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<> exec(sqlite3* db, const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return fail(Code::Internal, text);
  }
  return {};
}

}  // namespace crix::store
