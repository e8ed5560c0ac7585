#include "catalog/postgres.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <memory>

#include "core/error.h"

namespace vigil::sql {
namespace {

// Type OIDs of pg_type (catalog/pg_type_d.h, not shipped with libpq-dev): stable since 7.x.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kFloat8Oid = 701;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The error class of a failed statement, from its SQLSTATE (PostgreSQL's appendix A), mapped
// as the SQLite engine maps its result codes.
ErrorCode code_of(const PGresult* res, pg_conn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return ErrorCode::kUnavailable;
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (!state) return ErrorCode::kUnavailable;  // no answer at all: the connection went
  const std::string_view s(state);
  if (s.starts_with("23")) return ErrorCode::kAlreadyExists;      // integrity constraint
  if (s.starts_with("53")) return ErrorCode::kResourceExhausted;  // disk full, out of memory
  if (s.starts_with("08") || s.starts_with("57P") || s == "40001" || s == "40P01") {
    return ErrorCode::kUnavailable;  // connection, shutdown, serialization, deadlock: retry
  }
  if (s == "XX001" || s == "XX002") return ErrorCode::kDataLoss;  // corrupt data or index
  return ErrorCode::kInternal;
}

[[noreturn]] void fail(const PGresult* res, pg_conn* conn, const std::string& where,
                       const std::string& what) {
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty()) msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  throw Error(code_of(res, conn), where + ": " + what + ": " + msg);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool succeeded(const PGresult* res) {
  const ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

void ignore_notice(void*, const char*) {}

}  // namespace

PositionalSql positional_parameters(std::string_view sql) {
  PositionalSql out;
  out.text.reserve(sql.size());
  size_t i = 0;
  const auto copy_until = [&](char end) {  // a quoted literal or identifier, quotes included
    out.text += sql[i++];
    while (i < sql.size()) {
      const char c = sql[i++];
      out.text += c;
      if (c == end) {
        if (i < sql.size() && sql[i] == end) {  // a doubled quote stays inside
          out.text += sql[i++];
          continue;
        }
        return;
      }
    }
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      copy_until(c);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') out.text += sql[i++];
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] == '$') {
      // A $$-quoted body (untagged only: the catalog writes no tagged ones), copied whole.
      const size_t close = sql.find("$$", i + 2);
      const size_t end = close == std::string_view::npos ? sql.size() : close + 2;
      out.text += sql.substr(i, end - i);
      i = end;
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      out.text += "::";
      i += 2;
    } else if (c == ':' && i + 1 < sql.size() && is_name_char(sql[i + 1]) &&
               !(sql[i + 1] >= '0' && sql[i + 1] <= '9')) {
      size_t end = i + 1;
      while (end < sql.size() && is_name_char(sql[end])) ++end;
      const std::string name(sql.substr(i, end - i));
      size_t n = 0;
      while (n < out.names.size() && out.names[n] != name) ++n;
      if (n == out.names.size()) out.names.push_back(name);
      out.text += '$' + std::to_string(n + 1);
      i = end;
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

class PgStatement final : public StatementImpl {
 public:
  PgStatement(PgConnection& conn, const PositionalSql& sql)
      : conn_(&conn), sql_(&sql), params_(sql.names.size()) {}

  void bind_int64(const char* name, int64_t v) override {
    set(name, std::to_string(v), kInt8Oid, 0);
  }
  void bind_text(const char* name, const std::string& v) override { set(name, v, kTextOid, 0); }
  void bind_blob(const char* name, const std::vector<uint8_t>& v) override {
    set(name, std::string(v.begin(), v.end()), kByteaOid, 1);
  }
  void bind_real(const char* name, double v) override {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
    set(name, std::string(buf, static_cast<size_t>(n)), kFloat8Oid, 0);
  }
  void bind_null(const char* name) override {
    Param& p = params_[param(name)];
    p = Param{};
  }
  bool step() override;
  void reset() override {
    res_.reset();
    row_ = -1;
    for (Param& p : params_) p = Param{};
  }
  int64_t int64(const char* c) const override;
  std::string text(const char* c) const override {
    const int i = column(c);
    return std::string(PQgetvalue(res_.get(), row_, i),
                       static_cast<size_t>(PQgetlength(res_.get(), row_, i)));
  }
  std::vector<uint8_t> blob(const char* c) const override;
  double real(const char* c) const override {
    const int i = column(c);
    return PQgetisnull(res_.get(), row_, i) ? 0.0
                                            : std::strtod(PQgetvalue(res_.get(), row_, i), nullptr);
  }
  bool is_null(const char* c) const override {
    return PQgetisnull(res_.get(), row_, column(c)) != 0;
  }
  const void* handle() const override { return sql_; }

 private:
  struct Param {
    bool null = true;
    std::string value;
    Oid type = 0;  // unknown: the server infers it from where the parameter stands
    int format = 0;
  };
  size_t param(const char* name) const {
    for (size_t i = 0; i < sql_->names.size(); ++i) {
      if (sql_->names[i] == name) return i;
    }
    throw Error(ErrorCode::kInternal, std::string("no SQL parameter named ") + name);
  }
  void set(const char* name, std::string value, Oid type, int format) {
    params_[param(name)] = Param{false, std::move(value), type, format};
  }
  int column(const char* name) const {
    if (!res_ || row_ < 0 || row_ >= PQntuples(res_.get())) {
      throw Error(ErrorCode::kInternal, std::string("SQL column ") + name + " read with no row");
    }
    const int i = PQfnumber(res_.get(), name);
    if (i < 0) throw Error(ErrorCode::kInternal, std::string("no SQL column named ") + name);
    return i;
  }

  PgConnection* conn_;
  const PositionalSql* sql_;
  std::vector<Param> params_;
  Result res_;
  int row_ = -1;
};

bool PgStatement::step() {
  if (!res_) {
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const Param& p : params_) {
      types.push_back(p.type);
      values.push_back(p.null ? nullptr : p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.format);
    }
    pg_conn* conn = conn_->live();
    res_.reset(PQexecParams(conn, sql_->text.c_str(), static_cast<int>(params_.size()),
                            types.data(), values.data(), lengths.data(), formats.data(), 0));
    if (!succeeded(res_.get())) {
      Result failed = std::move(res_);
      fail(failed.get(), conn, conn_->where_, "run \"" + sql_->text.substr(0, 80) + "\"");
    }
    const char* tuples = PQcmdTuples(res_.get());
    conn_->changes_ = *tuples ? std::atoi(tuples) : 0;
    row_ = -1;
  }
  ++row_;
  return row_ < PQntuples(res_.get());
}

int64_t PgStatement::int64(const char* c) const {
  const int i = column(c);
  if (PQgetisnull(res_.get(), row_, i)) return 0;
  const char* v = PQgetvalue(res_.get(), row_, i);
  if (PQftype(res_.get(), i) == kBoolOid) return v[0] == 't' ? 1 : 0;
  const size_t len = static_cast<size_t>(PQgetlength(res_.get(), row_, i));
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(v, v + len, out);
  // A numeric (SUM of bigints) with no fraction parses whole; anything else is a bug in the SQL.
  if (ec != std::errc() || (end != v + len && *end != '.')) {
    throw Error(ErrorCode::kInternal,
                std::string("SQL column ") + c + " is not an integer: " + std::string(v, len));
  }
  return out;
}

std::vector<uint8_t> PgStatement::blob(const char* c) const {
  const int i = column(c);
  if (PQgetisnull(res_.get(), row_, i)) return {};
  size_t n = 0;
  unsigned char* bytes =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(res_.get(), row_, i)), &n);
  if (!bytes) throw Error(ErrorCode::kResourceExhausted, "bytea column " + std::string(c));
  std::vector<uint8_t> out(bytes, bytes + n);
  PQfreemem(bytes);
  return out;
}

PgConnection::PgConnection(const std::string& url) : where_(redacted_url(url)) {
  conn_ = PQconnectdb(url.c_str());
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(ErrorCode::kUnavailable, where_ + ": open catalog: " + msg);
  }
  // Times are integers of milliseconds everywhere; nothing depends on the session's zone, but
  // text in and out is UTF-8 whatever the server's default.
  session_.push_back("SET client_encoding = 'UTF8'");
  set_up_session();
}

void PgConnection::set_up_session() {
  // Notices ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  for (const std::string& sql : session_) {
    Result res(PQexec(conn_, sql.c_str()));
    if (!succeeded(res.get())) fail(res.get(), conn_, where_, "exec \"" + sql + "\"");
  }
}

PgConnection::~PgConnection() { PQfinish(conn_); }

pg_conn* PgConnection::live() {
  if (PQstatus(conn_) != CONNECTION_OK) {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn_);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      throw Error(ErrorCode::kUnavailable, where_ + ": catalog unreachable: " + msg);
    }
    // A new session: what was set on the old one (read-only, encoding) is set again.
    set_up_session();
  }
  return conn_;
}

void PgConnection::exec(const std::string& sql) {
  pg_conn* conn = live();
  Result res(PQexec(conn, sql.c_str()));
  if (!succeeded(res.get())) fail(res.get(), conn, where_, "exec \"" + sql.substr(0, 60) + "\"");
  const char* tuples = PQcmdTuples(res.get());
  changes_ = *tuples ? std::atoi(tuples) : 0;
}

Statement PgConnection::prepare(const std::string& sql) {
  auto it = texts_.find(sql);
  if (it == texts_.end()) it = texts_.emplace(sql, positional_parameters(sql)).first;
  return Statement(std::make_unique<PgStatement>(*this, it->second));
}

// Every statement's positional text is kept (prepare() does too); the server parses each run.
// Server-side prepared statements would save the parse, at the price of statements that go
// stale when a migration changes a table under them.
Statement PgConnection::prepare_cached(const std::string& sql) { return prepare(sql); }

void PgConnection::set_read_only() {
  session_.push_back("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  exec(session_.back());
}

void PgConnection::begin(Mode mode) {
  // A read is one snapshot for all its statements, as in SQLite's WAL; a write sees what
  // committed before each statement and relies on the stores' own serialization (the writer
  // mutex, and in a cluster the camera's lease).
  exec(mode == Mode::kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN");
}

namespace {
// pg_advisory_xact_lock's key for migrations: "vigi". Two processes (or nodes) opening one
// catalog migrate one after the other.
constexpr int64_t kMigrationLock = 0x76696769;
}  // namespace

int64_t PgConnection::schema_version() {
  prepare("SELECT pg_advisory_xact_lock(:key) IS NULL AS locked")
      .bind(":key", kMigrationLock)
      .run();
  // Read from pg_tables with this statement's snapshot, not by to_regclass(): a name lookup may
  // answer from this backend's cache, which still says "no such table" while another process
  // created it and committed as this one waited for the lock.
  auto present = prepare(
      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
      "AND tablename = 'vigil_schema') AS present");
  present.step();
  if (!present.int64("present")) return 0;
  auto st = prepare("SELECT version FROM vigil_schema");
  return st.step() ? st.int64("version") : 0;
}

void PgConnection::set_schema_version(int64_t v) {
  exec("CREATE TABLE IF NOT EXISTS vigil_schema (version BIGINT NOT NULL)");
  exec("DELETE FROM vigil_schema");
  prepare("INSERT INTO vigil_schema (version) VALUES (:v)").bind(":v", v).run();
}

}  // namespace vigil::sql
