// The audit log's hash chain (docs/design/integrity.md, "Audit chain"): every audit row carries
// link_n = SHA-256(link_{n-1} ‖ canonical(row_n)), link_0 being 32 zero bytes, so a row
// deleted, changed or slipped in by hand (triggers dropped, `sqlite3` shell) breaks the chain
// at that row. The newest link (the head) goes into every signed checkpoint: without the key,
// no one can rewrite the whole chain after it was signed.
// Pure functions and a walker over rows in id order; AccountStore appends, `vigil check
// --audit` walks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/accounts.h"
#include "catalog/sqlite.h"

namespace vigil {

// The canonical bytes of a row (version 1): a version byte 0x01, then id and at_ms as 8-byte
// big-endian two's complement integers, then user_name (optional), address, action, camera_id
// (optional), range_start_ms (optional), range_end_ms (optional), detail. A string is its
// byte length as 4-byte big-endian followed by its UTF-8 bytes; an optional field is one byte
// 0x00 when absent, or 0x01 followed by the field.
std::vector<uint8_t> audit_canonical(const AuditEntry& e);
// SHA-256(prev ‖ audit_canonical(e)).
Sha256 audit_link(const Sha256& prev, const AuditEntry& e);

// Where the chain first broke, and how it looks. A break cannot always be told apart from
// another kind (a row removed and one changed look alike when ids are renumbered); the kind is
// the simplest explanation of what the walk saw.
struct AuditBreak {
  enum class Kind {
    kModified,  // the row (or its stored link) changed: the rows after it follow from it again
    kDeleted,   // the ids jump before this row: rows between were removed
    kInserted,  // the row follows from nothing; the next one follows from the one before it
    kUnlinked,  // the row has no link at all: written around vigil
  };
  Kind kind = Kind::kModified;
  AuditEntry row;  // the first broken row
  int64_t previous_id = 0;  // the id of the row before it (0: none)
};
const char* audit_break_kind_name(AuditBreak::Kind k);

struct AuditChainReport {
  int64_t rows = 0;
  int64_t broken_rows = 0;  // rows whose link does not follow from the row before them
  std::optional<AuditBreak> first_break;
  Sha256 head{};  // the newest row's stored link (zeros when empty)
  bool ok() const { return broken_rows == 0; }
};

// Feeds rows in id order; finish() once after the last.
class AuditChainWalker {
 public:
  void add(const AuditEntry& e, const std::optional<Sha256>& stored_link);
  AuditChainReport finish();

 private:
  struct Seen {
    AuditEntry row;
    std::optional<Sha256> link;
  };
  void judge_pending(const Seen* next);

  AuditChainReport report_;
  Sha256 prev_link_{};       // stored link of the last row added (zeros before the first)
  Sha256 before_prev_{};     // stored link of the row before that
  int64_t prev_id_ = 0;
  std::optional<Seen> pending_;  // a broken row whose kind the next row decides
  Sha256 pending_prev_{};        // the link before the pending row
  int64_t pending_prev_id_ = 0;
};

// The columns of an audit row ("SELECT id, at_ms, user_name, address, action, camera_id,
// range_start_ms, range_end_ms, detail ...") as an entry.
AuditEntry audit_entry_from_row(const sql::Statement& st);
extern const char* const kAuditColumns;  // that column list, with a trailing space
// The "link" column of a row; nullopt when NULL.
std::optional<Sha256> stored_audit_link(const sql::Statement& st);

// Migration 7's back-fill: links every row of the audit table, oldest first, on `db`, inside
// the migration's transaction (the append-only triggers are dropped around it by the SQL).
void backfill_audit_links(sql::Connection& db);

// Walks the audit table of `db` (a read transaction of its own).
AuditChainReport walk_audit_chain(sql::Connection& db);

}  // namespace vigil
