#include "catalog/sqlite.h"

#include <cstring>

#include "core/error.h"

namespace vigil::sql {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what) {
  const int code = sqlite3_extended_errcode(db);
  const ErrorCode ec = (code & 0xff) == SQLITE_FULL         ? ErrorCode::kResourceExhausted
                       : (code & 0xff) == SQLITE_CORRUPT    ? ErrorCode::kDataLoss
                       : (code & 0xff) == SQLITE_BUSY       ? ErrorCode::kUnavailable
                       : (code & 0xff) == SQLITE_CONSTRAINT ? ErrorCode::kAlreadyExists
                                                            : ErrorCode::kInternal;
  throw Error(ec, path + ": " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

SqliteConnection::SqliteConnection(const std::string& path) : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kUnavailable, path + ": open catalog: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, c] : cached_) sqlite3_finalize(c.stmt);
  sqlite3_close_v2(db_);
}

void SqliteConnection::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    fail(db_, path_, "exec \"" + sql.substr(0, 60) + "\": " + msg);
  }
}

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(SqliteConnection& conn, sqlite3_stmt* stmt,
                  SqliteConnection::Cached* cached = nullptr)
      : conn_(&conn), stmt_(stmt), cached_(cached) {}
  ~SqliteStatement() override;

  void bind_int64(const char* name, int64_t v) override {
    sqlite3_bind_int64(stmt_, param(name), v);
  }
  void bind_text(const char* name, const std::string& v) override {
    sqlite3_bind_text(stmt_, param(name), v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_blob(const char* name, const std::vector<uint8_t>& blob) override {
    sqlite3_bind_blob(stmt_, param(name), blob.data(), static_cast<int>(blob.size()),
                      SQLITE_TRANSIENT);
  }
  void bind_real(const char* name, double v) override {
    sqlite3_bind_double(stmt_, param(name), v);
  }
  void bind_null(const char* name) override { sqlite3_bind_null(stmt_, param(name)); }
  bool step() override;
  void reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t int64(const char* c) const override { return sqlite3_column_int64(stmt_, column(c)); }
  std::string text(const char* c) const override;
  std::vector<uint8_t> blob(const char* c) const override;
  double real(const char* c) const override { return sqlite3_column_double(stmt_, column(c)); }
  bool is_null(const char* c) const override {
    return sqlite3_column_type(stmt_, column(c)) == SQLITE_NULL;
  }
  const void* handle() const override { return stmt_; }

 private:
  int param(const char* name) const;
  int column(const char* name) const;
  SqliteConnection* conn_;
  sqlite3_stmt* stmt_;
  // Set for a statement of the connection's cache: given back (reset) rather than finalized.
  SqliteConnection::Cached* cached_;
};

Statement SqliteConnection::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    fail(db_, path_, "prepare \"" + sql.substr(0, 60) + "\"");
  }
  return Statement(std::make_unique<SqliteStatement>(*this, stmt));
}

Statement SqliteConnection::prepare_cached(const std::string& sql) {
  auto [it, added] = cached_.try_emplace(sql);
  Cached& c = it->second;
  if (c.in_use) return prepare(sql);
  if (added) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      cached_.erase(it);
      fail(db_, path_, "prepare \"" + sql.substr(0, 60) + "\"");
    }
    c.stmt = stmt;
  }
  c.in_use = true;
  return Statement(std::make_unique<SqliteStatement>(*this, c.stmt, &c));
}

int64_t SqliteConnection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int SqliteConnection::changes() const { return sqlite3_changes(db_); }

void SqliteConnection::set_read_only() { exec("PRAGMA query_only=1"); }

void SqliteConnection::begin(Mode mode) {
  exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
}

int64_t SqliteConnection::schema_version() {
  // Finalized before a migration runs: a pending statement keeps DROP INDEX from running.
  auto st = prepare("PRAGMA user_version");
  st.step();
  return st.int64("user_version");
}

void SqliteConnection::set_schema_version(int64_t v) {
  exec("PRAGMA user_version=" + std::to_string(v));
}

SqliteStatement::~SqliteStatement() {
  // A kept statement's counters are read and cleared: each use counts once.
  const int clear = cached_ ? 1 : 0;
  conn_->cost_ += StatementCost{sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, clear),
                                sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_FULLSCAN_STEP, clear),
                                sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_SORT, clear)};
  if (cached_) {
    // Reset also ends a read the caller left unfinished (it would hold the WAL snapshot).
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->in_use = false;
    return;
  }
  sqlite3_finalize(stmt_);
}

int SqliteStatement::param(const char* name) const {
  const int i = sqlite3_bind_parameter_index(stmt_, name);
  if (i == 0) {
    throw Error(ErrorCode::kInternal, std::string("no SQL parameter named ") + name);
  }
  return i;
}

int SqliteStatement::column(const char* name) const {
  const int n = sqlite3_column_count(stmt_);
  for (int i = 0; i < n; ++i) {
    if (std::strcmp(sqlite3_column_name(stmt_, i), name) == 0) return i;
  }
  throw Error(ErrorCode::kInternal, std::string("no SQL column named ") + name);
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(conn_->raw(), conn_->path(), std::string("step \"") + sqlite3_sql(stmt_) + "\"");
}

std::string SqliteStatement::text(const char* c) const {
  const int i = column(c);
  const auto* p = sqlite3_column_text(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
           : std::string();
}

std::vector<uint8_t> SqliteStatement::blob(const char* c) const {
  const int i = column(c);
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, i));
  return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, i)) : std::vector<uint8_t>();
}

}  // namespace vigil::sql
