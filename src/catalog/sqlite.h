// The SQLite engine of the catalog's seam (catalog/sql.h): one file, WAL; what a single box
// uses. The stores that run on SQLite only (accounts, events, holds, transactions: issue 20
// moves them one by one) hold a SqliteConnection directly.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "catalog/sql.h"

namespace vigil::sql {

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(const std::string& path);
  ~SqliteConnection() override;

  Engine engine() const override { return Engine::kSqlite; }
  void exec(const std::string& sql) override;
  Statement prepare(const std::string& sql) override;
  // If the same text is still in use (a statement run from inside another's loop), a fresh
  // one is made. The returned statement is reset, not finalized, when it goes.
  Statement prepare_cached(const std::string& sql) override;
  int changes() const override;
  const std::string& path() const override { return path_; }
  // The cost of every statement finalized on this connection so far.
  StatementCost cost() const override { return cost_; }
  void set_read_only() override;
  void begin(Mode mode) override;
  int64_t schema_version() override;
  void set_schema_version(int64_t v) override;

  int64_t last_insert_rowid() const;
  sqlite3* raw() { return db_; }

 private:
  friend class SqliteStatement;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_ = nullptr;
  std::string path_;
  StatementCost cost_;
  // Node-based: a Cached's address stays put while the map grows (statements point at theirs).
  std::unordered_map<std::string, Cached> cached_;
};

}  // namespace vigil::sql
