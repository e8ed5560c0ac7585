#include "catalog/audit_chain.h"

#include <openssl/evp.h>

#include "core/error.h"

namespace vigil {
namespace {

void put_u8(std::vector<uint8_t>& out, uint8_t v) { out.push_back(v); }

void put_i64(std::vector<uint8_t>& out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(u >> shift));
}

void put_str(std::vector<uint8_t>& out, const std::string& s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
  out.insert(out.end(), s.begin(), s.end());
}

void put_opt_str(std::vector<uint8_t>& out, const std::optional<std::string>& s) {
  put_u8(out, s ? 1 : 0);
  if (s) put_str(out, *s);
}

void put_opt_time(std::vector<uint8_t>& out, const std::optional<WallTime>& t) {
  put_u8(out, t ? 1 : 0);
  if (t) put_i64(out, ms_since_epoch(*t));
}

}  // namespace

std::optional<Sha256> stored_audit_link(const sql::Statement& st) {
  if (st.is_null("link")) return std::nullopt;
  const std::vector<uint8_t> b = st.blob("link");
  Sha256 out{};  // a link of the wrong size is kept as zeros, which no row's link is
  if (b.size() == out.size()) std::copy(b.begin(), b.end(), out.begin());
  return out;
}

const char* const kAuditColumns =
    "SELECT id, at_ms, user_name, address, action, camera_id, range_start_ms, range_end_ms, "
    "detail ";

std::vector<uint8_t> audit_canonical(const AuditEntry& e) {
  std::vector<uint8_t> out;
  out.reserve(64 + e.address.size() + e.action.size() + e.detail.size());
  put_u8(out, 1);  // version of this encoding
  put_i64(out, e.id);
  put_i64(out, ms_since_epoch(e.at));
  put_opt_str(out, e.user_name);
  put_str(out, e.address);
  put_str(out, e.action);
  put_opt_str(out, e.camera_id);
  put_opt_time(out, e.range_start);
  put_opt_time(out, e.range_end);
  put_str(out, e.detail);
  return out;
}

Sha256 audit_link(const Sha256& prev, const AuditEntry& e) {
  // One-shot libcrypto (the same SHA-256 as integrity/file_hash.h): the catalog sits below the
  // integrity library, which will read the catalog, so it cannot use that library's hasher.
  std::vector<uint8_t> buf(prev.begin(), prev.end());
  const std::vector<uint8_t> canon = audit_canonical(e);
  buf.insert(buf.end(), canon.begin(), canon.end());
  Sha256 out{};
  unsigned int len = 0;
  if (EVP_Digest(buf.data(), buf.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw Error(ErrorCode::kInternal, "audit row " + std::to_string(e.id) + ": SHA-256 failed");
  }
  return out;
}

const char* audit_break_kind_name(AuditBreak::Kind k) {
  switch (k) {
    case AuditBreak::Kind::kModified: return "modified";
    case AuditBreak::Kind::kDeleted: return "deleted";
    case AuditBreak::Kind::kInserted: return "inserted";
    case AuditBreak::Kind::kUnlinked: return "unlinked";
  }
  return "?";
}

AuditEntry audit_entry_from_row(const sql::Statement& st) {
  AuditEntry e;
  e.id = st.int64("id");
  e.at = wall_from_ms(st.int64("at_ms"));
  if (!st.is_null("user_name")) e.user_name = st.text("user_name");
  e.address = st.text("address");
  e.action = st.text("action");
  if (!st.is_null("camera_id")) e.camera_id = st.text("camera_id");
  if (!st.is_null("range_start_ms")) e.range_start = wall_from_ms(st.int64("range_start_ms"));
  if (!st.is_null("range_end_ms")) e.range_end = wall_from_ms(st.int64("range_end_ms"));
  e.detail = st.text("detail");
  return e;
}

void AuditChainWalker::judge_pending(const Seen* next) {
  using Kind = AuditBreak::Kind;
  Kind kind = Kind::kModified;
  // The row after a changed row still follows from the changed row's stored link; the row
  // after a row slipped in follows from the row before the intruder, with its own id or, when
  // the ids after the intruder were moved up to make room, with the id it had.
  const auto follows_prev = [&](int64_t moved) {
    AuditEntry was = next->row;
    was.id -= moved;
    return *next->link == audit_link(pending_prev_, was);
  };
  if (next && next->link && *next->link != audit_link(*pending_->link, next->row) &&
      (follows_prev(0) || follows_prev(1))) {
    kind = Kind::kInserted;
  }
  report_.first_break = AuditBreak{kind, pending_->row, pending_prev_id_};
  pending_.reset();
}

void AuditChainWalker::add(const AuditEntry& e, const std::optional<Sha256>& link) {
  if (pending_) {
    const Seen next{e, link};
    judge_pending(&next);
  }
  ++report_.rows;
  const bool broken = !link || *link != audit_link(prev_link_, e);
  if (broken) {
    ++report_.broken_rows;
    if (!report_.first_break && !pending_) {
      if (!link) {
        report_.first_break = AuditBreak{AuditBreak::Kind::kUnlinked, e, prev_id_};
      } else if (e.id != prev_id_ + 1) {
        report_.first_break = AuditBreak{AuditBreak::Kind::kDeleted, e, prev_id_};
      } else {
        pending_ = Seen{e, link};
        pending_prev_ = prev_link_;
        pending_prev_id_ = prev_id_;
      }
    }
  }
  // A row without a link is skipped: the rows after it are judged against the one before it.
  if (link) prev_link_ = *link;
  prev_id_ = e.id;
}

AuditChainReport AuditChainWalker::finish() {
  if (pending_) judge_pending(nullptr);
  report_.head = prev_link_;
  return report_;
}

void backfill_audit_links(sql::Connection& db) {
  std::vector<std::pair<int64_t, Sha256>> links;
  {
    auto st = db.prepare(std::string(kAuditColumns) + "FROM audit ORDER BY id");
    Sha256 prev{};
    while (st.step()) {
      const AuditEntry e = audit_entry_from_row(st);
      prev = audit_link(prev, e);
      links.emplace_back(e.id, prev);
    }
  }
  for (const auto& [id, link] : links) {
    db.prepare("UPDATE audit SET link = :link WHERE id = :id")
        .bind(":link", std::vector<uint8_t>(link.begin(), link.end()))
        .bind(":id", id)
        .run();
  }
}

AuditChainReport walk_audit_chain(sql::Connection& db) {
  db.exec("BEGIN");
  AuditChainWalker walker;
  try {
    auto st = db.prepare(std::string(kAuditColumns) + ", link FROM audit ORDER BY id");
    while (st.step()) walker.add(audit_entry_from_row(st), stored_audit_link(st));
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
  db.exec("COMMIT");
  return walker.finish();
}

}  // namespace vigil
