// The catalog's side of the integrity chain: storing and reading chain entries, signed
// checkpoints and the public keys that signed them (tables of migration 6). The byte formats
// and the link arithmetic are integrity/chain.h's; this file only keeps rows.
#include "catalog/catalog.h"
#include "core/error.h"

namespace vigil {
namespace {

template <size_t N>
std::array<uint8_t, N> fixed_blob(const sql::Statement& st, const char* column) {
  const std::vector<uint8_t> b = st.blob(column);
  std::array<uint8_t, N> a{};
  // A blob of the wrong size (a hand-edited row) reads as zeros past its end or cut: the link
  // check then reports the row, which is what an edit must lead to.
  std::copy_n(b.begin(), std::min(N, b.size()), a.begin());
  return a;
}

template <size_t N>
std::vector<uint8_t> as_blob(const std::array<uint8_t, N>& a) {
  return std::vector<uint8_t>(a.begin(), a.end());
}

const char* kChainColumns =
    "SELECT camera_id, sequence, kind, segment_id, fragment_position, wall_start_ms, "
    "duration_90k, init_hash, fragment_hash, note, link FROM chain_entry ";

ChainRow read_chain_row(const sql::Statement& st) {
  ChainRow r;
  r.entry.camera_id = st.text("camera_id");
  r.entry.sequence = static_cast<uint64_t>(st.int64("sequence"));
  r.entry.kind = static_cast<ChainKind>(st.int64("kind"));
  r.entry.wall_start = wall_from_ms(st.int64("wall_start_ms"));
  r.entry.duration = Ticks90k(st.int64("duration_90k"));
  r.entry.init_hash = fixed_blob<32>(st, "init_hash");
  r.entry.fragment_hash = fixed_blob<32>(st, "fragment_hash");
  r.entry.note = st.text("note");
  r.segment_id = st.is_null("segment_id") ? 0 : st.int64("segment_id");
  r.fragment_position = st.is_null("fragment_position") ? -1 : st.int64("fragment_position");
  r.link = fixed_blob<32>(st, "link");
  return r;
}

constexpr const char* kCheckpointColumns =
    "SELECT id, camera_id, sequence, head, wall_time_ms, audit_head, key_fingerprint, "
    "signature, tsa_token FROM checkpoint ";

CheckpointRow read_checkpoint_row(const sql::Statement& st) {
  CheckpointRow c;
  c.id = st.int64("id");
  c.checkpoint.camera_id = st.text("camera_id");
  c.checkpoint.sequence = static_cast<uint64_t>(st.int64("sequence"));
  c.checkpoint.head = fixed_blob<32>(st, "head");
  c.checkpoint.wall_time = wall_from_ms(st.int64("wall_time_ms"));
  c.checkpoint.audit_head = fixed_blob<32>(st, "audit_head");
  c.key_fingerprint = st.text("key_fingerprint");
  c.signature = fixed_blob<64>(st, "signature");
  if (!st.is_null("tsa_token")) c.tsa_token = st.blob("tsa_token");
  return c;
}

// The first checkpoint of `camera` that `condition_and_order` (on :seq) picks; on the
// (camera, sequence) index.
std::optional<CheckpointRow> first_checkpoint(sql::Connection& db, const std::string& camera,
                                              uint64_t sequence,
                                              const std::string& condition_and_order) {
  auto st = db.prepare(std::string(kCheckpointColumns) + "WHERE camera_id = :camera AND " +
                       condition_and_order + " LIMIT 1");
  st.bind(":camera", camera).bind(":seq", static_cast<int64_t>(sequence));
  if (!st.step()) return std::nullopt;
  return read_checkpoint_row(st);
}

}  // namespace

ChainRow next_chain_row(const std::optional<ChainRow>& head, ChainEntry e, int64_t segment_id,
                        int64_t fragment_position) {
  e.sequence = head ? head->entry.sequence + 1 : 0;
  ChainRow r;
  r.link = chain_link(head ? head->link : kChainGenesis, e);
  r.entry = std::move(e);
  r.segment_id = segment_id;
  r.fragment_position = fragment_position;
  return r;
}

void Catalog::append_chain(const ChainRow& row) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare_cached(
      "INSERT INTO chain_entry (camera_id, sequence, kind, segment_id, fragment_position, "
      "wall_start_ms, duration_90k, init_hash, fragment_hash, note, link) VALUES (:camera, :seq, "
      ":kind, :segment, :position, :start, :duration, :init, :fragment, :note, :link)");
  const ChainEntry& e = row.entry;
  st.bind(":camera", e.camera_id)
      .bind(":seq", static_cast<int64_t>(e.sequence))
      .bind(":kind", int64_t{static_cast<uint8_t>(e.kind)})
      .bind(":segment", row.segment_id ? std::optional<int64_t>(row.segment_id) : std::nullopt)
      .bind(":position", row.fragment_position >= 0
                             ? std::optional<int64_t>(row.fragment_position)
                             : std::nullopt)
      .bind(":start", ms_since_epoch(e.wall_start))
      .bind(":duration", e.duration.count())
      .bind(":init", as_blob(e.init_hash))
      .bind(":fragment", as_blob(e.fragment_hash))
      .bind(":note", e.note)
      .bind(":link", as_blob(row.link));
  st.run();
}

std::optional<ChainRow> Catalog::chain_head(const std::string& camera) {
  Reader r(*this);
  auto st = r->prepare(std::string(kChainColumns) +
                       "WHERE camera_id = :camera ORDER BY sequence DESC LIMIT 1");
  st.bind(":camera", camera);
  if (!st.step()) return std::nullopt;
  return read_chain_row(st);
}

void Catalog::for_each_chain_row(const std::string& camera,
                                 const std::function<void(const ChainRow&)>& fn) {
  Reader r(*this);
  auto st = r->prepare(std::string(kChainColumns) + "WHERE camera_id = :camera ORDER BY sequence");
  st.bind(":camera", camera);
  while (st.step()) fn(read_chain_row(st));
}

std::vector<ChainRow> Catalog::chain_rows_of_segment(int64_t segment_id) {
  Reader r(*this);
  auto st = r->prepare(std::string(kChainColumns) +
                       "WHERE segment_id = :segment ORDER BY fragment_position");
  st.bind(":segment", segment_id);
  std::vector<ChainRow> out;
  while (st.step()) out.push_back(read_chain_row(st));
  return out;
}

std::vector<ChainRow> Catalog::chain_rows_between(const std::string& camera, uint64_t first,
                                                  uint64_t last) {
  Reader r(*this);
  auto st = r->prepare(std::string(kChainColumns) +
                       "WHERE camera_id = :camera AND sequence BETWEEN :first AND :last "
                       "ORDER BY sequence");
  st.bind(":camera", camera)
      .bind(":first", static_cast<int64_t>(first))
      .bind(":last", static_cast<int64_t>(last));
  std::vector<ChainRow> out;
  while (st.step()) out.push_back(read_chain_row(st));
  return out;
}

std::vector<std::string> Catalog::chain_cameras() {
  Reader r(*this);
  auto st = r->prepare("SELECT DISTINCT camera_id FROM chain_entry ORDER BY camera_id");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text("camera_id"));
  return out;
}

void Catalog::add_checkpoint(const CheckpointRow& c) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare_cached(
      "INSERT INTO checkpoint (camera_id, sequence, head, wall_time_ms, audit_head, "
      "key_fingerprint, signature, tsa_token) VALUES (:camera, :seq, :head, :time, :audit, :key, "
      ":sig, :tsa)");
  st.bind(":camera", c.checkpoint.camera_id)
      .bind(":seq", static_cast<int64_t>(c.checkpoint.sequence))
      .bind(":head", as_blob(c.checkpoint.head))
      .bind(":time", ms_since_epoch(c.checkpoint.wall_time))
      .bind(":audit", as_blob(c.checkpoint.audit_head))
      .bind(":key", c.key_fingerprint)
      .bind(":sig", as_blob(c.signature))
      .bind(":tsa", c.tsa_token);
  st.run();
}

std::vector<CheckpointRow> Catalog::checkpoints(const std::string& camera) {
  Reader r(*this);
  auto st = r->prepare(std::string(kCheckpointColumns) +
                       "WHERE camera_id = :camera ORDER BY sequence, id");
  st.bind(":camera", camera);
  std::vector<CheckpointRow> out;
  while (st.step()) out.push_back(read_checkpoint_row(st));
  return out;
}

std::vector<CheckpointRow> Catalog::checkpoints_without_token(int64_t after_id, size_t limit) {
  Reader r(*this);
  auto st = r->prepare(std::string(kCheckpointColumns) +
                       "WHERE id > :after AND tsa_token IS NULL ORDER BY id LIMIT :limit");
  st.bind(":after", after_id).bind(":limit", static_cast<int64_t>(limit));
  std::vector<CheckpointRow> out;
  while (st.step()) out.push_back(read_checkpoint_row(st));
  return out;
}

int64_t Catalog::last_checkpoint_id() {
  Reader r(*this);
  auto st = r->prepare("SELECT COALESCE(MAX(id), 0) AS id FROM checkpoint");
  return st.step() ? st.int64("id") : 0;
}

int64_t Catalog::checkpoint_backlog_start(WallTime since, int64_t limit) {
  Reader r(*this);
  auto st = r->prepare(
      "SELECT COALESCE((SELECT MIN(id) - 1 FROM (SELECT id, wall_time_ms FROM checkpoint "
      "ORDER BY id DESC LIMIT :limit) AS newest WHERE wall_time_ms >= :since), "
      "(SELECT COALESCE(MAX(id), 0) FROM checkpoint)) AS id");
  st.bind(":limit", limit).bind(":since", ms_since_epoch(since));
  return st.step() ? st.int64("id") : 0;
}

void Catalog::set_checkpoint_tsa_token(int64_t id, const Bytes& token) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE checkpoint SET tsa_token = :tsa WHERE id = :id");
  st.bind(":tsa", token).bind(":id", id);
  st.run();
}

std::optional<CheckpointRow> Catalog::checkpoint_before(const std::string& camera,
                                                        uint64_t sequence) {
  Reader r(*this);
  return first_checkpoint(*r, camera, sequence,
                          "sequence < :seq ORDER BY sequence DESC, id DESC");
}

std::optional<CheckpointRow> Catalog::checkpoint_at_or_after(const std::string& camera,
                                                             uint64_t sequence) {
  Reader r(*this);
  return first_checkpoint(*r, camera, sequence, "sequence >= :seq ORDER BY sequence, id");
}

void Catalog::add_signing_key(const SigningKeyRow& k) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO signing_key (fingerprint, public_key_pem, created_ms) VALUES (:fp, :pem, "
      ":created) ON CONFLICT (fingerprint) DO NOTHING");
  st.bind(":fp", k.fingerprint)
      .bind(":pem", k.public_key_pem)
      .bind(":created", ms_since_epoch(k.created));
  st.run();
}

std::vector<SigningKeyRow> Catalog::signing_keys() {
  Reader r(*this);
  auto st = r->prepare(
      "SELECT fingerprint, public_key_pem, created_ms FROM signing_key ORDER BY created_ms");
  std::vector<SigningKeyRow> out;
  while (st.step()) {
    out.push_back(SigningKeyRow{st.text("fingerprint"), st.text("public_key_pem"),
                                wall_from_ms(st.int64("created_ms"))});
  }
  return out;
}

}  // namespace vigil
