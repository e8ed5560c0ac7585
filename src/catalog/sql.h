// The catalog's engine seam (docs/design/cluster.md §1): a connection and prepared statements
// with named parameters, implemented over SQLite (catalog/sqlite.h, the embedded default) and
// PostgreSQL (catalog/postgres.h, for many recorders sharing one catalog). SQL is never built
// by string formatting from data; values are always bound. Statements that both engines
// understand are written once; the few that differ are chosen by engine(). Not thread-safe by
// itself: the stores serialize access to a connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::sql {

enum class Engine { kSqlite, kPostgres };

// What the statements run on a connection cost SQLite, from sqlite3_stmt_status(): virtual
// machine steps (every row looked at costs some), steps of full table or index scans, and sorts.
// Counted so that tests can assert that a query reads a bounded number of rows, not O(table).
// PostgreSQL counts nothing here (its plans are checked with EXPLAIN by the tests that need it).
struct StatementCost {
  int64_t vm_steps = 0;
  int64_t fullscan_steps = 0;
  int64_t sorts = 0;
  StatementCost& operator+=(const StatementCost& o) {
    vm_steps += o.vm_steps;
    fullscan_steps += o.fullscan_steps;
    sorts += o.sorts;
    return *this;
  }
};

// One engine's prepared statement; used through Statement.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void bind_int64(const char* name, int64_t v) = 0;
  virtual void bind_text(const char* name, const std::string& v) = 0;
  virtual void bind_blob(const char* name, const std::vector<uint8_t>& v) = 0;
  virtual void bind_real(const char* name, double v) = 0;
  virtual void bind_null(const char* name) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual int64_t int64(const char* column) const = 0;
  virtual std::string text(const char* column) const = 0;
  virtual std::vector<uint8_t> blob(const char* column) const = 0;
  virtual double real(const char* column) const = 0;
  virtual bool is_null(const char* column) const = 0;
  // What identifies the engine's prepared statement (tests: a cached one is reused).
  virtual const void* handle() const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}

  Statement& bind(const char* name, int64_t v) {
    impl_->bind_int64(name, v);
    return *this;
  }
  Statement& bind(const char* name, const std::string& v) {
    impl_->bind_text(name, v);
    return *this;
  }
  Statement& bind(const char* name, const std::vector<uint8_t>& blob) {
    impl_->bind_blob(name, blob);
    return *this;
  }
  Statement& bind_null(const char* name) {
    impl_->bind_null(name);
    return *this;
  }
  // A separate name: an overload of bind() would make every int argument ambiguous.
  Statement& bind_real(const char* name, double v) {
    impl_->bind_real(name, v);
    return *this;
  }
  template <typename T>
  Statement& bind(const char* name, const std::optional<T>& v) {
    return v ? bind(name, *v) : bind_null(name);
  }

  // Steps once; true while a row is available.
  bool step() { return impl_->step(); }
  // Ready to run again with new values: a statement run many times in one transaction is
  // prepared (parsed and planned) once.
  Statement& reset() {
    impl_->reset();
    return *this;
  }
  void run() {
    while (step()) {
    }
  }

  // Columns by name. A boolean (PostgreSQL's comparisons) reads as 0 or 1.
  int64_t int64(const char* column) const { return impl_->int64(column); }
  std::string text(const char* column) const { return impl_->text(column); }
  std::vector<uint8_t> blob(const char* column) const { return impl_->blob(column); }
  double real(const char* column) const { return impl_->real(column); }
  bool is_null(const char* column) const { return impl_->is_null(column); }
  const void* raw() const { return impl_->handle(); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual Engine engine() const = 0;
  // For DDL, pragmas and transaction control; may hold several statements.
  virtual void exec(const std::string& sql) = 0;
  virtual Statement prepare(const std::string& sql) = 0;
  // The same, but parsed and planned once per connection and kept: for the statements the
  // recorder runs for every fragment and segment of every camera (a prepare costs more than the
  // insert itself). Only for SQL text from the program, never built from data: the cache is
  // unbounded.
  virtual Statement prepare_cached(const std::string& sql) = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int changes() const = 0;
  // Where the catalog is, for messages: a file, or a URL without its password.
  virtual const std::string& path() const = 0;
  virtual StatementCost cost() const { return {}; }
  // Reads only from now on: a bug that wrote through a reader would bypass the writer's lock.
  virtual void set_read_only() = 0;

  // Transactions. A write transaction takes the write lock at once (SQLite's BEGIN IMMEDIATE),
  // so that reading the version of a row and changing it cannot interleave with another
  // writer; a read transaction is one snapshot for all its statements.
  enum class Mode { kRead, kWrite };
  virtual void begin(Mode mode) = 0;
  void commit() { exec("COMMIT"); }
  void rollback() { exec("ROLLBACK"); }

  // The number of migrations that have run (SQLite keeps it in user_version, PostgreSQL in a
  // one-row table). Inside a write transaction.
  virtual int64_t schema_version() = 0;
  virtual void set_schema_version(int64_t v) = 0;
};

// Whether `location` names a PostgreSQL catalog (postgresql:// or postgres://) rather than a
// SQLite file.
// The id an `INSERT ... RETURNING id` gave its row, the statement run to its end (SQLite makes
// its changes on the first step). Throws Error(kInternal) if no row came back.
int64_t inserted_id(Statement& st);

bool is_postgres_url(std::string_view location);
// A connection to the catalog at `location`: a SQLite file or a postgresql:// URL. Throws Error
// naming it (without a password) when it cannot be opened, or when this vigil was built without
// PostgreSQL (scripts/cross-arm64).
std::unique_ptr<Connection> open(const std::string& location);
// A catalog URL as messages may show it: without the password.
std::string redacted_url(std::string_view url);

// A write transaction, rolled back if not committed.
class Transaction {
 public:
  explicit Transaction(Connection& c) : conn_(c) { conn_.begin(Connection::Mode::kWrite); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    conn_.commit();
    done_ = true;
  }

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace vigil::sql
