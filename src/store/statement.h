// Statement: one prepared SQLite statement, finalized on destruction.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace crix::store {

class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bindNull(int index);

  // Steps once: true while a row is available, false when done.
  Result<bool> step();
  // Steps to completion, for statements that return no rows.
  Result<> run();

  std::string text(int col) const;
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Runs SQL without results (several statements allowed).
Result<> exec(sqlite3* db, const std::string& sql);

// An Error from the connection's last failure.
Error sqliteError(sqlite3* db, std::string_view what);

}  // namespace crix::store
