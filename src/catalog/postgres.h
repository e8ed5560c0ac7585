// The PostgreSQL engine of the catalog's seam (catalog/sql.h), over libpq: the catalog that
// several recorders share (docs/design/cluster.md §1). The statements keep SQLite's named
// parameters (":camera"), rewritten once per text to PostgreSQL's positional ones ("$1").
// Values go as text (integers, reals, strings) or binary (blobs, as bytea); results come back
// as text and are converted by the column readers, so that COUNT (bigint), SUM (numeric) and a
// comparison (boolean) all read with int64().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/sql.h"

struct pg_conn;

namespace vigil::sql {

// A statement's text with its named parameters made positional: ":camera" → "$1" (every use of
// one name gets the same number); names in order of their numbers. Text inside quotes and
// comments, and casts ("::bigint"), are left as they are.
struct PositionalSql {
  std::string text;
  std::vector<std::string> names;  // with their ':'
};
PositionalSql positional_parameters(std::string_view sql);

class PgConnection final : public Connection {
 public:
  // `url`: postgresql://user[:password]@host[:port]/database[?options] (libpq's URI form; a
  // Unix socket directory as ?host=/path). Throws Error (kUnavailable) naming the redacted URL.
  explicit PgConnection(const std::string& url);
  ~PgConnection() override;

  Engine engine() const override { return Engine::kPostgres; }
  void exec(const std::string& sql) override;
  Statement prepare(const std::string& sql) override;
  Statement prepare_cached(const std::string& sql) override;
  int changes() const override { return changes_; }
  const std::string& path() const override { return where_; }
  void set_read_only() override;
  void begin(Mode mode) override;
  int64_t schema_version() override;
  void set_schema_version(int64_t v) override;

 private:
  friend class PgStatement;
  // Reconnects a connection the server or the network dropped, before its next statement (a
  // transaction it was in is lost: the statement that finds out fails, the caller retries).
  pg_conn* live();
  // Runs session_ on a new session (the first, or one made again after a drop).
  void set_up_session();
  pg_conn* conn_ = nullptr;
  std::string where_;
  int changes_ = 0;
  // What every session of this connection is set up with, in order.
  std::vector<std::string> session_;
  // Node-based: statements keep a pointer to their text while the map grows.
  std::unordered_map<std::string, PositionalSql> texts_;
};

}  // namespace vigil::sql
