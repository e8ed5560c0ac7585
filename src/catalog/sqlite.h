// A thin RAII layer over SQLite: a connection and prepared statements with named parameters.
// SQL is never built by string formatting; values are always bound. Not thread-safe by itself:
// Catalog serializes access.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vigil::sql {

class Statement;

// What the statements run on a connection cost SQLite, from sqlite3_stmt_status(): virtual
// machine steps (every row looked at costs some), steps of full table or index scans, and sorts.
// Counted so that tests can assert that a query reads a bounded number of rows, not O(table).
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

class Connection {
 public:
  explicit Connection(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql);  // for DDL and pragmas
  Statement prepare(const std::string& sql);
  // The same, but parsed and planned once per connection and kept: for the statements the
  // recorder runs for every fragment and segment of every camera (a prepare costs more than the
  // insert itself). The returned statement is reset, not finalized, when it goes; if the same
  // text is still in use (a statement run from inside another's loop), a fresh one is made.
  // Only for SQL text from the program, never built from data: the cache is unbounded.
  Statement prepare_cached(const std::string& sql);
  int64_t last_insert_rowid() const;
  int changes() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }
  // The cost of every statement finalized on this connection so far.
  const StatementCost& cost() const { return cost_; }

 private:
  friend class Statement;
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

class Statement {
 public:
  Statement(Connection& conn, sqlite3_stmt* stmt) : conn_(&conn), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_), cached_(o.cached_) {
    o.stmt_ = nullptr;
    o.cached_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(const char* name, int64_t v);
  Statement& bind(const char* name, const std::string& v);
  Statement& bind(const char* name, const std::vector<uint8_t>& blob);
  Statement& bind_null(const char* name);
  // A separate name: an overload of bind() would make every int argument ambiguous.
  Statement& bind_real(const char* name, double v);
  template <typename T>
  Statement& bind(const char* name, const std::optional<T>& v) {
    return v ? bind(name, *v) : bind_null(name);
  }

  // Steps once; true while a row is available.
  bool step();
  // Ready to run again with new values: a statement run many times in one transaction is
  // prepared (parsed and planned) once.
  Statement& reset();
  void run() { while (step()) {} }

  int64_t int64(const char* column) const;
  std::string text(const char* column) const;
  std::vector<uint8_t> blob(const char* column) const;
  double real(const char* column) const;
  bool is_null(const char* column) const;
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  int param(const char* name) const;
  int column(const char* name) const;
  friend class Connection;
  Connection* conn_;
  sqlite3_stmt* stmt_;
  // Set for a statement of the connection's cache: given back (reset) rather than finalized.
  Connection::Cached* cached_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
class Transaction {
 public:
  explicit Transaction(Connection& c);
  ~Transaction();
  void commit();

 private:
  Connection& conn_;
  bool done_ = false;
};

}  // namespace vigil::sql
