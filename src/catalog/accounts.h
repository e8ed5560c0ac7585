// Accounts in the catalog: users with a role and a camera list, login sessions, API tokens for
// scripts, and the append-only audit log (migration 2 in catalog.cpp), hash-chained (migration
// 7, catalog/audit_chain.h). This layer stores and
// finds rows; it never sees a clear-text secret: passwords arrive already hashed (Argon2id) and
// session ids / tokens as their SHA-256 (serve/crypto.h makes both).
// Thread-safe: its own SQLite connection to vigil.db behind a mutex, so the HTTP server never
// waits on the recorder's connection. Construct it after a Catalog has migrated the file.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql.h"
#include "core/time.h"

namespace vigil {

// A SHA-256 digest; the same type as integrity/file_hash.h's.
using Sha256 = std::array<uint8_t, 32>;

// In a user's camera list: every camera.
inline constexpr const char* kAllCameras = "*";

// Ordered: a route that needs kOperator admits kOperator and kAdmin.
enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };
const char* role_name(Role r);
std::optional<Role> parse_role(const std::string& s);

struct User {
  int64_t id = 0;
  std::string name;
  std::string password_hash;  // crypto_pwhash_str output
  Role role = Role::kViewer;
  // The camera ids this user may see; kAllCameras ("*") alone is every camera, also those added
  // later. Empty: none — no account sees a camera by omission. Admins see every camera whatever
  // the list says (and store "*").
  std::vector<std::string> cameras;
  WallTime created;

  bool may_see_camera(const std::string& camera_id) const;
  bool sees_all_cameras() const;
};

struct SessionRow {
  std::vector<uint8_t> id_sha256;
  int64_t user_id = 0;
  WallTime created;
  WallTime expires;
  std::string address;
};

// What a token may do: everything its user may ("full"), or read GET /metrics and nothing else
// ("metrics", for a Prometheus scraper that must not carry an admin's rights), or post
// transactions for the tills it names and nothing else ("till", for a till or its software:
// issue 19, docs/transactions.md).
enum class TokenScope { kFull, kMetrics, kTill };
const char* token_scope_name(TokenScope s);
std::optional<TokenScope> parse_token_scope(const std::string& name);

struct ApiTokenRow {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  WallTime created;
  std::optional<WallTime> last_used;
  TokenScope scope = TokenScope::kFull;
  std::optional<WallTime> expires;  // none: until revoked
  std::vector<std::string> tills;   // scope "till": the till ids it may post for
};

// A user's second factor (TOTP, serve/totp.h): the shared secret, whether a first code
// confirmed it, and the newest step a code was accepted for (each code is accepted once).
struct TotpRow {
  std::vector<uint8_t> secret;
  bool confirmed = false;
  std::optional<int64_t> last_step;
};

struct AuditEntry {
  int64_t id = 0;  // assigned on insert; increases with time of insertion
  WallTime at;
  // Who acted; for login_failed the name tried (whether or not such a user exists, so that
  // guessing at one account is visible under its name); nullopt when there is no usable name.
  std::optional<std::string> user_name;
  std::string address;  // client IP, or "cli" for the command line
  std::string action;   // "login", "login_failed", "user_add", ...
  std::optional<std::string> camera_id;
  std::optional<WallTime> range_start;
  std::optional<WallTime> range_end;
  std::string detail;
};

struct AuditFilter {
  std::optional<std::string> user_name;
  std::optional<std::string> action;
  std::optional<std::string> camera_id;
  std::optional<WallTime> from;      // at >= from
  std::optional<WallTime> to;        // at < to
  std::optional<int64_t> before_id;  // paging: the entries after this one in audit()'s order
  int limit = 100;
};

// User names: what people type at the login prompt and what appears in the audit log.
bool valid_user_name(const std::string& name);

class AccountStore {
 public:
  // Opens the catalog at `location` (a file, or a postgresql:// URL: sql::open), already
  // migrated by Catalog. Throws Error if the schema is too old.
  explicit AccountStore(const std::string& location);

  // Users. add_user throws Error(kAlreadyExists) for a taken name, kInvalidArgument for a bad one.
  int64_t add_user(const User& u);
  std::optional<User> user(int64_t id);
  std::optional<User> user_by_name(const std::string& name);
  std::vector<User> users();
  int64_t user_count();
  // Creates `u` only if there is no user at all, atomically (first-start setup). False if some
  // user already exists.
  bool add_first_user(const User& u);
  void update_user(const User& u);  // role, cameras, password_hash; by id
  // Removes the user with their sessions and tokens. False if there was no such user.
  bool delete_user(int64_t id);
  // Number of admins, to refuse removing or demoting the last one.
  int64_t admin_count();

  // Sessions, keyed by SHA-256 of the cookie value.
  void add_session(const SessionRow& s);
  std::optional<SessionRow> session(const std::vector<uint8_t>& id_sha256);
  void delete_session(const std::vector<uint8_t>& id_sha256);
  void delete_sessions_of(int64_t user_id);
  int delete_expired_sessions(WallTime now);

  // API tokens, keyed by SHA-256 of the token.
  // `row.id` and `row.last_used` are ignored; answers the new id.
  int64_t add_token(const std::vector<uint8_t>& token_sha256, const ApiTokenRow& row);
  std::optional<ApiTokenRow> token_by_hash(const std::vector<uint8_t>& token_sha256);
  std::optional<ApiTokenRow> token(int64_t id);
  std::vector<ApiTokenRow> tokens_of(int64_t user_id);
  std::vector<ApiTokenRow> all_tokens();
  void touch_token(int64_t id, WallTime when);
  bool delete_token(int64_t id);
  // Revokes every token of a user (password reset by an admin, demotion).
  void delete_tokens_of(int64_t user_id);

  // Second factor. begin_totp stores an unconfirmed secret, replacing an unconfirmed one; false
  // (and nothing changes) when the user has a confirmed one. confirm_totp marks it confirmed,
  // records `step` as used and replaces the recovery codes (SHA-256 of their normalized form),
  // in one transaction; false if there was no unconfirmed secret.
  std::optional<TotpRow> totp(int64_t user_id);
  bool begin_totp(int64_t user_id, const std::vector<uint8_t>& secret, WallTime now);
  bool confirm_totp(int64_t user_id, int64_t step,
                    const std::vector<std::vector<uint8_t>>& recovery_sha256);
  // Records `step` as the newest used one, only if it is newer than the last: false when a
  // request (this one replayed, or a parallel one) used that step or a later one first.
  bool use_totp_step(int64_t user_id, int64_t step);
  // Deletes the recovery code: true if it was there (so each code works once).
  bool use_recovery_code(int64_t user_id, const std::vector<uint8_t>& code_sha256);
  int64_t recovery_codes_left(int64_t user_id);
  // Removes the secret and the recovery codes.
  void delete_totp(int64_t user_id);

  // The audit log: insert and read, nothing else (the database refuses UPDATE and DELETE too).
  // Each row is linked to the one before it (audit_chain.h) in a write transaction
  // (BEGIN IMMEDIATE), so appends from any number of threads and processes form one chain.
  // `e.id` is ignored; the id given is returned.
  int64_t append_audit(const AuditEntry& e);
  // The newest row's link; 32 zero bytes while the log is empty. For signed checkpoints.
  Sha256 audit_head();
  // The stored link of row `id` (an evidence bundle quotes its export's row); nullopt when
  // there is no such row or it has no link.
  std::optional<Sha256> audit_link_of(int64_t id);
  // Called with every row once it is committed (e.g. the syslog copy, audit_syslog.h), on the
  // appending thread. Set before the store is shared between threads.
  using AuditCopy = std::function<void(const AuditEntry& e, const Sha256& link)>;
  void set_audit_copy(AuditCopy copy) { audit_copy_ = std::move(copy); }
  // Newest first by (time, id); before_id pages on after that entry. Indexed (migration 5).
  std::vector<AuditEntry> audit(const AuditFilter& f);

  // What the statements run so far cost SQLite (sqlite.h), for tests of read bounds.
  sql::StatementCost cost() {
    std::lock_guard lock(mu_);
    return db_->cost();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;
  AuditCopy audit_copy_;
};

}  // namespace vigil
