#include "catalog/holds.h"

#include <algorithm>

#include "core/error.h"

namespace vigil {
namespace {

constexpr int kMinSchema = 7;  // kHoldsAndAuditChain in catalog.cpp

const char* kHoldColumns =
    "SELECT id, name, reason, from_ms, to_ms, created_ms, created_by, released_ms, released_by "
    "FROM hold ";

}  // namespace

std::vector<HeldRange> merge_held_ranges(std::vector<HeldRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const HeldRange& a, const HeldRange& b) { return a.from < b.from; });
  std::vector<HeldRange> out;
  for (const HeldRange& r : ranges) {
    if (!out.empty() && r.from <= out.back().to) {
      out.back().to = std::max(out.back().to, r.to);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

HoldStore::HoldStore(const std::string& location) : db_(sql::open(location)) {
  const int64_t version = db_->schema_version();
  if (version < kMinSchema) {
    throw Error(ErrorCode::kFailedPrecondition, db_->path() +
                                                    ": catalog has no hold table (schema version " +
                                                    std::to_string(version) + ")");
  }
}

int64_t HoldStore::add(const Hold& h) {
  if (h.name.empty()) throw Error(ErrorCode::kInvalidArgument, "a hold needs a name");
  if (h.cameras.empty()) throw Error(ErrorCode::kInvalidArgument, "a hold needs cameras");
  if (h.from >= h.to) {
    throw Error(ErrorCode::kInvalidArgument, "hold \"" + h.name + "\": from must be before to");
  }
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  auto ins = db_->prepare(
      "INSERT INTO hold (name, reason, from_ms, to_ms, created_ms, created_by) "
      "VALUES (:name, :reason, :from, :to, :created, :by) RETURNING id");
  ins.bind(":name", h.name)
      .bind(":reason", h.reason)
      .bind(":from", ms_since_epoch(h.from))
      .bind(":to", ms_since_epoch(h.to))
      .bind(":created", ms_since_epoch(h.created))
      .bind(":by", h.created_by);
  const int64_t id = sql::inserted_id(ins);
  for (const auto& c : h.cameras) {
    db_->prepare(
           "INSERT INTO hold_camera (camera_id, hold_id) VALUES (:camera, :id) "
           "ON CONFLICT DO NOTHING")
        .bind(":camera", c)
        .bind(":id", id)
        .run();
  }
  tx.commit();
  return id;
}

std::vector<Hold> HoldStore::read(sql::Statement& st) {
  std::vector<Hold> out;
  while (st.step()) {
    Hold h;
    h.id = st.int64("id");
    h.name = st.text("name");
    h.reason = st.text("reason");
    h.from = wall_from_ms(st.int64("from_ms"));
    h.to = wall_from_ms(st.int64("to_ms"));
    h.created = wall_from_ms(st.int64("created_ms"));
    h.created_by = st.text("created_by");
    if (!st.is_null("released_ms")) h.released = wall_from_ms(st.int64("released_ms"));
    if (!st.is_null("released_by")) h.released_by = st.text("released_by");
    out.push_back(std::move(h));
  }
  for (Hold& h : out) {
    auto cams =
        db_->prepare("SELECT camera_id FROM hold_camera WHERE hold_id = :id ORDER BY camera_id");
    cams.bind(":id", h.id);
    while (cams.step()) h.cameras.push_back(cams.text("camera_id"));
  }
  return out;
}

std::optional<Hold> HoldStore::get(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kHoldColumns) + "WHERE id = :id");
  st.bind(":id", id);
  auto rows = read(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<Hold> HoldStore::list(bool include_released) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      std::string(kHoldColumns) +
      (include_released ? "ORDER BY id DESC" : "WHERE released_ms IS NULL ORDER BY id DESC"));
  return read(st);
}

bool HoldStore::release(int64_t id, WallTime at, const std::string& by) {
  std::lock_guard lock(mu_);
  db_->prepare(
         "UPDATE hold SET released_ms = :at, released_by = :by "
         "WHERE id = :id AND released_ms IS NULL")
      .bind(":at", ms_since_epoch(at))
      .bind(":by", by)
      .bind(":id", id)
      .run();
  return db_->changes() == 1;
}

std::vector<HeldRange> HoldStore::held_ranges(const std::string& camera) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT h.from_ms, h.to_ms FROM hold_camera c JOIN hold h ON h.id = c.hold_id "
      "WHERE c.camera_id = :camera AND h.released_ms IS NULL");
  st.bind(":camera", camera);
  std::vector<HeldRange> ranges;
  while (st.step()) {
    ranges.push_back({wall_from_ms(st.int64("from_ms")), wall_from_ms(st.int64("to_ms"))});
  }
  return merge_held_ranges(std::move(ranges));
}

std::vector<std::string> HoldStore::held_cameras() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "SELECT DISTINCT c.camera_id FROM hold h JOIN hold_camera c ON c.hold_id = h.id "
      "WHERE h.released_ms IS NULL ORDER BY c.camera_id");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text("camera_id"));
  return out;
}

uint64_t HoldStore::held_bytes(const std::string& camera) {
  uint64_t total = 0;
  for (const HeldRange& r : held_ranges(camera)) total += bytes_in_range(camera, r.from, r.to);
  return total;
}

uint64_t HoldStore::bytes_in_range(const std::string& camera, WallTime from, WallTime to) {
  std::lock_guard lock(mu_);
  // Segments last at most an hour (segment_seconds <= 3600): bounding the start from below
  // keeps the read on the (camera, start, end, state) index, as Catalog's windows do.
  auto st = db_->prepare(
      "SELECT COALESCE(SUM(bytes), 0) AS bytes FROM segment WHERE camera_id = :camera "
      "AND wall_start_ms < :to AND wall_start_ms >= :from_lo AND wall_end_ms > :from "
      "AND state != 'deleting'");
  st.bind(":camera", camera)
      .bind(":to", ms_since_epoch(to))
      .bind(":from_lo", ms_since_epoch(from) - 3'600'000 - 60'000)
      .bind(":from", ms_since_epoch(from));
  st.step();
  return static_cast<uint64_t>(st.int64("bytes"));
}

}  // namespace vigil
