#include "catalog/accounts.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "catalog/audit_chain.h"
#include "core/error.h"

namespace vigil {
namespace {

constexpr int kMinSchema = 2;  // the migration that made these tables

std::string join_cameras(const std::vector<std::string>& cams) {
  std::string out;
  for (const auto& c : cams) {
    if (!out.empty()) out += ',';
    out += c;
  }
  return out;
}

// "a,b" -> {"a", "b"}: camera lists of users, till lists of till tokens.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string c;
  while (std::getline(in, c, ',')) {
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

// NULL (no list) is no camera: migration 8 turned the old NULL, which meant every camera, into
// "*", so a NULL written by anything else fails closed.
std::vector<std::string> split_cameras(const sql::Statement& st) {
  if (st.is_null("cameras")) return {};
  return split_list(st.text("cameras"));
}

const char* kUserColumns =
    "SELECT id, name, password_hash, role, cameras, created_ms FROM \"user\" ";

std::vector<User> read_users(sql::Statement& st) {
  std::vector<User> out;
  while (st.step()) {
    User u;
    u.id = st.int64("id");
    u.name = st.text("name");
    u.password_hash = st.text("password_hash");
    u.role = parse_role(st.text("role")).value_or(Role::kViewer);
    u.cameras = split_cameras(st);
    u.created = wall_from_ms(st.int64("created_ms"));
    out.push_back(std::move(u));
  }
  return out;
}

void bind_user(sql::Statement& st, const User& u) {
  st.bind(":name", u.name)
      .bind(":hash", u.password_hash)
      .bind(":role", std::string(role_name(u.role)));
  // Admins see everything by definition; storing a list for them would only mislead.
  st.bind(":cameras", u.role == Role::kAdmin ? std::string(kAllCameras) : join_cameras(u.cameras));
}

const char* kTokenColumns =
    "SELECT id, user_id, name, created_ms, last_used_ms, scope, expires_ms, tills FROM api_token ";

std::vector<ApiTokenRow> read_tokens(sql::Statement& st) {
  std::vector<ApiTokenRow> out;
  while (st.step()) {
    ApiTokenRow t;
    t.id = st.int64("id");
    t.user_id = st.int64("user_id");
    t.name = st.text("name");
    t.created = wall_from_ms(st.int64("created_ms"));
    if (!st.is_null("last_used_ms")) t.last_used = wall_from_ms(st.int64("last_used_ms"));
    // An unknown scope (a newer vigil's) grants the least: a till token for no till.
    t.scope = parse_token_scope(st.text("scope")).value_or(TokenScope::kTill);
    t.tills = split_list(st.text("tills"));
    if (!st.is_null("expires_ms")) t.expires = wall_from_ms(st.int64("expires_ms"));
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<int64_t> opt_ms(const std::optional<WallTime>& t) {
  if (!t) return std::nullopt;
  return ms_since_epoch(*t);
}

}  // namespace

const char* token_scope_name(TokenScope s) {
  switch (s) {
    case TokenScope::kFull:
      return "full";
    case TokenScope::kMetrics:
      return "metrics";
    case TokenScope::kTill:
      return "till";
  }
  return "?";
}

std::optional<TokenScope> parse_token_scope(const std::string& name) {
  for (TokenScope s : {TokenScope::kFull, TokenScope::kMetrics, TokenScope::kTill}) {
    if (name == token_scope_name(s)) return s;
  }
  return std::nullopt;
}

const char* role_name(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> parse_role(const std::string& s) {
  if (s == "viewer") return Role::kViewer;
  if (s == "operator") return Role::kOperator;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

bool User::sees_all_cameras() const {
  return role == Role::kAdmin ||
         std::find(cameras.begin(), cameras.end(), kAllCameras) != cameras.end();
}

bool User::may_see_camera(const std::string& camera_id) const {
  return sees_all_cameras() ||
         std::find(cameras.begin(), cameras.end(), camera_id) != cameras.end();
}

bool valid_user_name(const std::string& name) {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$");
  return std::regex_match(name, re);
}

AccountStore::AccountStore(const std::string& location) : db_(sql::open(location)) {
  // PostgreSQL always enforces foreign keys; SQLite only when asked, per connection.
  if (db_->engine() == sql::Engine::kSqlite) db_->exec("PRAGMA foreign_keys=ON");
  const int64_t version = db_->schema_version();
  if (version < kMinSchema) {
    throw Error(ErrorCode::kFailedPrecondition,
                db_->path() + ": catalog has no account tables (schema version " +
                    std::to_string(version) + ")");
  }
}

int64_t AccountStore::add_user(const User& u) {
  if (!valid_user_name(u.name)) {
    throw Error(ErrorCode::kInvalidArgument,
                "user name \"" + u.name +
                    "\": use 1-64 characters of A-Z, a-z, 0-9, '.', '_', "
                    "'@' or '-', starting with a letter or digit");
  }
  std::lock_guard lock(mu_);
  // "Admin" and "admin" would be two accounts that people (and the audit log's readers) take
  // for one: names are unique whatever their case.
  auto existing = db_->prepare("SELECT name FROM \"user\" WHERE lower(name) = lower(:name)");
  if (existing.bind(":name", u.name).step()) {
    throw Error(ErrorCode::kAlreadyExists,
                "user \"" + u.name + "\" already exists (as \"" + existing.text("name") + "\")");
  }
  auto st = db_->prepare(
      "INSERT INTO \"user\" (name, password_hash, role, cameras, created_ms) "
      "VALUES (:name, :hash, :role, :cameras, :created) RETURNING id");
  bind_user(st, u);
  st.bind(":created", ms_since_epoch(u.created));
  return sql::inserted_id(st);
}

bool AccountStore::add_first_user(const User& u) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  auto count = db_->prepare("SELECT COUNT(*) AS n FROM \"user\"");
  count.step();
  if (count.int64("n") != 0) return false;
  auto st = db_->prepare(
      "INSERT INTO \"user\" (name, password_hash, role, cameras, created_ms) "
      "VALUES (:name, :hash, :role, :cameras, :created)");
  bind_user(st, u);
  st.bind(":created", ms_since_epoch(u.created)).run();
  tx.commit();
  return true;
}

std::optional<User> AccountStore::user(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kUserColumns) + "WHERE id = :id");
  st.bind(":id", id);
  auto rows = read_users(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::optional<User> AccountStore::user_by_name(const std::string& name) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kUserColumns) + "WHERE name = :name");
  st.bind(":name", name);
  auto rows = read_users(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<User> AccountStore::users() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kUserColumns) + "ORDER BY name");
  return read_users(st);
}

int64_t AccountStore::user_count() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT COUNT(*) AS n FROM \"user\"");
  st.step();
  return st.int64("n");
}

int64_t AccountStore::admin_count() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT COUNT(*) AS n FROM \"user\" WHERE role = 'admin'");
  st.step();
  return st.int64("n");
}

void AccountStore::update_user(const User& u) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE \"user\" SET name = :name, password_hash = :hash, role = :role, cameras = :cameras "
      "WHERE id = :id");
  bind_user(st, u);
  st.bind(":id", u.id).run();
  if (db_->changes() != 1) {
    throw Error(ErrorCode::kNotFound, "user " + std::to_string(u.id) + ": no such user");
  }
}

bool AccountStore::delete_user(int64_t id) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM \"user\" WHERE id = :id").bind(":id", id).run();
  return db_->changes() == 1;
}

void AccountStore::add_session(const SessionRow& s) {
  std::lock_guard lock(mu_);
  db_->prepare(
         "INSERT INTO session (id_sha256, user_id, created_ms, expires_ms, address) "
         "VALUES (:id, :user, :created, :expires, :address)")
      .bind(":id", s.id_sha256)
      .bind(":user", s.user_id)
      .bind(":created", ms_since_epoch(s.created))
      .bind(":expires", ms_since_epoch(s.expires))
      .bind(":address", s.address)
      .run();
}

std::optional<SessionRow> AccountStore::session(const std::vector<uint8_t>& id_sha256) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT id_sha256, user_id, created_ms, expires_ms, address FROM session "
      "WHERE id_sha256 = :id");
  st.bind(":id", id_sha256);
  if (!st.step()) return std::nullopt;
  SessionRow s;
  s.id_sha256 = st.blob("id_sha256");
  s.user_id = st.int64("user_id");
  s.created = wall_from_ms(st.int64("created_ms"));
  s.expires = wall_from_ms(st.int64("expires_ms"));
  s.address = st.text("address");
  return s;
}

void AccountStore::delete_session(const std::vector<uint8_t>& id_sha256) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM session WHERE id_sha256 = :id").bind(":id", id_sha256).run();
}

void AccountStore::delete_sessions_of(int64_t user_id) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM session WHERE user_id = :user").bind(":user", user_id).run();
}

int AccountStore::delete_expired_sessions(WallTime now) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM session WHERE expires_ms <= :now")
      .bind(":now", ms_since_epoch(now))
      .run();
  return db_->changes();
}

int64_t AccountStore::add_token(const std::vector<uint8_t>& token_sha256, const ApiTokenRow& row) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO api_token (token_sha256, user_id, name, created_ms, scope, expires_ms, tills) "
      "VALUES (:hash, :user, :name, :created, :scope, :expires, :tills) RETURNING id");
  st.bind(":hash", token_sha256)
      .bind(":user", row.user_id)
      .bind(":name", row.name)
      .bind(":created", ms_since_epoch(row.created))
      .bind(":scope", std::string(token_scope_name(row.scope)))
      .bind(":tills", join_cameras(row.tills));
  if (row.expires) {
    st.bind(":expires", ms_since_epoch(*row.expires));
  } else {
    st.bind_null(":expires");
  }
  return sql::inserted_id(st);
}

std::optional<ApiTokenRow> AccountStore::token_by_hash(const std::vector<uint8_t>& token_sha256) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kTokenColumns) + "WHERE token_sha256 = :hash");
  st.bind(":hash", token_sha256);
  auto rows = read_tokens(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::optional<ApiTokenRow> AccountStore::token(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kTokenColumns) + "WHERE id = :id");
  st.bind(":id", id);
  auto rows = read_tokens(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<ApiTokenRow> AccountStore::tokens_of(int64_t user_id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kTokenColumns) + "WHERE user_id = :user ORDER BY id");
  st.bind(":user", user_id);
  return read_tokens(st);
}

std::vector<ApiTokenRow> AccountStore::all_tokens() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kTokenColumns) + "ORDER BY id");
  return read_tokens(st);
}

void AccountStore::touch_token(int64_t id, WallTime when) {
  std::lock_guard lock(mu_);
  db_->prepare("UPDATE api_token SET last_used_ms = :t WHERE id = :id")
      .bind(":t", ms_since_epoch(when))
      .bind(":id", id)
      .run();
}

bool AccountStore::delete_token(int64_t id) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM api_token WHERE id = :id").bind(":id", id).run();
  return db_->changes() == 1;
}

void AccountStore::delete_tokens_of(int64_t user_id) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM api_token WHERE user_id = :user").bind(":user", user_id).run();
}

std::optional<TotpRow> AccountStore::totp(int64_t user_id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT secret, confirmed, last_step FROM user_totp WHERE user_id = :u");
  st.bind(":u", user_id);
  if (!st.step()) return std::nullopt;
  TotpRow r;
  r.secret = st.blob("secret");
  r.confirmed = st.int64("confirmed") != 0;
  if (!st.is_null("last_step")) r.last_step = st.int64("last_step");
  return r;
}

bool AccountStore::begin_totp(int64_t user_id, const std::vector<uint8_t>& secret, WallTime now) {
  std::lock_guard lock(mu_);
  db_->prepare(
         "INSERT INTO user_totp (user_id, secret, created_ms) VALUES (:u, :secret, :now) "
         "ON CONFLICT (user_id) DO UPDATE SET secret = :secret, created_ms = :now, "
         "last_step = NULL WHERE user_totp.confirmed = 0")
      .bind(":u", user_id)
      .bind(":secret", secret)
      .bind(":now", ms_since_epoch(now))
      .run();
  return db_->changes() == 1;
}

bool AccountStore::confirm_totp(int64_t user_id, int64_t step,
                                const std::vector<std::vector<uint8_t>>& recovery_sha256) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  db_->prepare(
         "UPDATE user_totp SET confirmed = 1, last_step = :step "
         "WHERE user_id = :u AND confirmed = 0")
      .bind(":u", user_id)
      .bind(":step", step)
      .run();
  if (db_->changes() != 1) return false;
  db_->prepare("DELETE FROM recovery_code WHERE user_id = :u").bind(":u", user_id).run();
  for (const auto& h : recovery_sha256) {
    db_->prepare("INSERT INTO recovery_code (user_id, code_sha256) VALUES (:u, :h)")
        .bind(":u", user_id)
        .bind(":h", h)
        .run();
  }
  tx.commit();
  return true;
}

bool AccountStore::use_totp_step(int64_t user_id, int64_t step) {
  std::lock_guard lock(mu_);
  db_->prepare(
         "UPDATE user_totp SET last_step = :step "
         "WHERE user_id = :u AND (last_step IS NULL OR last_step < :step)")
      .bind(":u", user_id)
      .bind(":step", step)
      .run();
  return db_->changes() == 1;
}

bool AccountStore::use_recovery_code(int64_t user_id, const std::vector<uint8_t>& code_sha256) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM recovery_code WHERE user_id = :u AND code_sha256 = :h")
      .bind(":u", user_id)
      .bind(":h", code_sha256)
      .run();
  return db_->changes() == 1;
}

int64_t AccountStore::recovery_codes_left(int64_t user_id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT count(*) AS n FROM recovery_code WHERE user_id = :u");
  st.bind(":u", user_id);
  st.step();
  return st.int64("n");
}

void AccountStore::delete_totp(int64_t user_id) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  db_->prepare("DELETE FROM recovery_code WHERE user_id = :u").bind(":u", user_id).run();
  db_->prepare("DELETE FROM user_totp WHERE user_id = :u").bind(":u", user_id).run();
  tx.commit();
}

int64_t AccountStore::append_audit(const AuditEntry& entry) {
  AuditEntry e = entry;
  Sha256 link{};
  {
    std::lock_guard lock(mu_);
    // The write lock is taken before the newest link is read: no other writer, in this process
    // or another (`vigil user add` beside `vigil serve`, another node), can append between the
    // read and the insert, so the chain never forks.
    sql::Transaction tx(*db_);
    // PostgreSQL's BEGIN takes no lock: the table's, which only writers of the audit log ask
    // for (readers go on), serialises appends from every process and node of a cluster.
    if (db_->engine() == sql::Engine::kPostgres) {
      db_->exec("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE");
    }
    Sha256 prev{};
    e.id = 1;
    auto last = db_->prepare("SELECT id, link FROM audit ORDER BY id DESC LIMIT 1");
    if (last.step()) {
      e.id = last.int64("id") + 1;
      prev = stored_audit_link(last).value_or(Sha256{});
    }
    link = audit_link(prev, e);
    db_->prepare(
           "INSERT INTO audit (id, at_ms, user_name, address, action, camera_id, range_start_ms, "
           "range_end_ms, detail, link) VALUES (:id, :at, :user, :address, :action, :camera, :rs, "
           ":re, :detail, :link)")
        .bind(":id", e.id)
        .bind(":at", ms_since_epoch(e.at))
        .bind(":user", e.user_name)
        .bind(":address", e.address)
        .bind(":action", e.action)
        .bind(":camera", e.camera_id)
        .bind(":rs", opt_ms(e.range_start))
        .bind(":re", opt_ms(e.range_end))
        .bind(":detail", e.detail)
        .bind(":link", std::vector<uint8_t>(link.begin(), link.end()))
        .run();
    tx.commit();
  }
  if (audit_copy_) audit_copy_(e, link);
  return e.id;
}

Sha256 AccountStore::audit_head() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT link FROM audit ORDER BY id DESC LIMIT 1");
  if (!st.step()) return Sha256{};
  return stored_audit_link(st).value_or(Sha256{});
}

std::optional<Sha256> AccountStore::audit_link_of(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT link FROM audit WHERE id = :id");
  st.bind(":id", id);
  if (!st.step()) return std::nullopt;
  return stored_audit_link(st);
}

std::vector<AuditEntry> AccountStore::audit(const AuditFilter& f) {
  std::lock_guard lock(mu_);
  // Newest first by (time, id), read backwards on the index of the one filter given (user,
  // action or camera, each followed by at_ms and the rowid: migration 5) or on at_ms: a page
  // costs its rows plus those another filter passes over. Only the conditions that apply are
  // in the SQL (an "x IS NULL OR" condition keeps SQLite off the index); values are bound.
  std::string where = "WHERE TRUE ";
  if (f.user_name) where += "AND user_name = :user ";
  if (f.action) where += "AND action = :action ";
  if (f.camera_id) where += "AND camera_id = :camera ";
  if (f.from) where += "AND at_ms >= :from ";
  if (f.to) where += "AND at_ms < :to ";
  std::optional<int64_t> before_at;
  if (f.before_id) {
    auto b = db_->prepare("SELECT at_ms FROM audit WHERE id <= :before ORDER BY id DESC LIMIT 1");
    b.bind(":before", *f.before_id);
    if (!b.step()) return {};  // nothing that old
    before_at = b.int64("at_ms");
    where += "AND at_ms <= :before_at AND (at_ms < :before_at OR id < :before) ";
  }
  auto st = db_->prepare(std::string(kAuditColumns) + "FROM audit " + where +
                         "ORDER BY at_ms DESC, id DESC LIMIT :limit");
  if (f.user_name) st.bind(":user", *f.user_name);
  if (f.action) st.bind(":action", *f.action);
  if (f.camera_id) st.bind(":camera", *f.camera_id);
  if (f.from) st.bind(":from", ms_since_epoch(*f.from));
  if (f.to) st.bind(":to", ms_since_epoch(*f.to));
  if (before_at) st.bind(":before_at", *before_at).bind(":before", *f.before_id);
  st.bind(":limit", int64_t{f.limit});
  std::vector<AuditEntry> out;
  while (st.step()) out.push_back(audit_entry_from_row(st));
  return out;
}

}  // namespace vigil
