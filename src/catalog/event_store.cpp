#include "catalog/event_store.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace vigil {
namespace {

constexpr int kMinSchema = 4;  // the migration that made event_longest (3 made the table)

// ",a,b," : every name between commas, so that one zone is found with instr(',' || z || ',').
std::string comma_list(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string out = ",";
  for (const auto& n : names) out += n + ",";
  return out;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string x;
  while (std::getline(in, x, ',')) {
    if (!x.empty()) out.push_back(x);
  }
  return out;
}

const char* kColumns =
    "SELECT id, camera_id, type, state, start_ms, end_ms, zones, peak_score, peak_ms, box_x, "
    "box_y, box_w, box_h, armed, snapshot, close_reason FROM event ";

std::vector<EventRow> read_rows(sql::Statement& st) {
  std::vector<EventRow> out;
  while (st.step()) {
    EventRow e;
    e.id = st.int64("id");
    e.camera_id = st.text("camera_id");
    e.type = st.text("type");
    e.open = st.text("state") == "open";
    e.start = wall_from_ms(st.int64("start_ms"));
    e.end = wall_from_ms(st.int64("end_ms"));
    e.zones = split_list(st.text("zones"));
    e.peak_score = st.real("peak_score");
    e.peak_at = wall_from_ms(st.int64("peak_ms"));
    if (!st.is_null("box_x")) {
      e.box = EventBox{st.real("box_x"), st.real("box_y"), st.real("box_w"), st.real("box_h")};
    }
    e.armed = st.int64("armed") != 0;
    e.snapshot = st.text("snapshot");
    e.close_reason = st.text("close_reason");
    out.push_back(std::move(e));
  }
  return out;
}

void bind_growth(sql::Statement& st, const EventRow& e) {
  st.bind(":end", ms_since_epoch(e.end))
      .bind(":zones", comma_list(e.zones))
      .bind_real(":peak", e.peak_score)
      .bind(":peak_ms", ms_since_epoch(e.peak_at));
  if (e.box) {
    st.bind_real(":bx", e.box->x).bind_real(":by", e.box->y);
    st.bind_real(":bw", e.box->w).bind_real(":bh", e.box->h);
  } else {
    st.bind_null(":bx").bind_null(":by").bind_null(":bw").bind_null(":bh");
  }
}

}  // namespace

EventStore::EventStore(const std::string& location) : db_(sql::open(location)) {
  const int64_t version = db_->schema_version();
  if (version < kMinSchema) {
    throw Error(ErrorCode::kFailedPrecondition,
                db_->path() + ": catalog has no event table (schema version " +
                    std::to_string(version) + ")");
  }
}

int64_t EventStore::insert(const EventRow& e) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO event (camera_id, type, state, start_ms, end_ms, zones, peak_score, peak_ms, "
      "box_x, box_y, box_w, box_h, armed) VALUES (:camera, :type, 'open', :start, :end, :zones, "
      ":peak, :peak_ms, :bx, :by, :bw, :bh, :armed) RETURNING id");
  st.bind(":camera", e.camera_id)
      .bind(":type", e.type)
      .bind(":start", ms_since_epoch(e.start))
      .bind(":armed", int64_t{e.armed});
  bind_growth(st, e);
  return sql::inserted_id(st);
}

void EventStore::update(const EventRow& e) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE event SET end_ms = :end, zones = :zones, peak_score = :peak, peak_ms = :peak_ms, "
      "box_x = :bx, box_y = :by, box_w = :bw, box_h = :bh WHERE id = :id AND state = 'open'");
  bind_growth(st, e);
  st.bind(":id", e.id).run();
}

void EventStore::set_snapshot(int64_t id, const std::string& relative_path) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE event SET snapshot = :snap WHERE id = :id");
  st.bind(":snap", relative_path).bind(":id", id).run();
}

void EventStore::close(int64_t id, WallTime end, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE event SET state = 'closed', end_ms = :end, close_reason = :reason "
      "WHERE id = :id AND state = 'open'");
  st.bind(":end", ms_since_epoch(end)).bind(":reason", reason).bind(":id", id).run();
}

int EventStore::close_open_events(const std::string& reason) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE event SET state = 'closed', close_reason = :reason WHERE state = 'open'");
  st.bind(":reason", reason).run();
  return db_->changes();
}

std::vector<std::string> EventStore::delete_ended_before(const std::string& camera, WallTime cutoff,
                                                         const KeepFn& keep) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  auto sel = db_->prepare(
      "SELECT id, start_ms, end_ms, snapshot FROM event WHERE camera_id = :camera "
      "AND start_ms < :cutoff AND state = 'closed' AND end_ms < :cutoff");
  sel.bind(":camera", camera).bind(":cutoff", ms_since_epoch(cutoff));
  // start_ms < cutoff repeats what end_ms < cutoff implies, so that only the old end of the
  // (camera, start) index is read, not every event of the camera. Held events stay and are
  // read again by every pass: holds cover little, so they are few.
  std::vector<std::string> snapshots;
  std::vector<int64_t> ids;
  while (sel.step()) {
    if (keep && keep(wall_from_ms(sel.int64("start_ms")), wall_from_ms(sel.int64("end_ms")))) {
      continue;
    }
    ids.push_back(sel.int64("id"));
    if (!sel.is_null("snapshot")) snapshots.push_back(sel.text("snapshot"));
  }
  for (const int64_t id : ids) {
    db_->prepare("DELETE FROM event WHERE id = :id").bind(":id", id).run();
  }
  tx.commit();
  return snapshots;
}

std::optional<EventRow> EventStore::get(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) + "WHERE id = :id");
  st.bind(":id", id);
  auto rows = read_rows(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

namespace {

// An event overlapping [from, ...) started at most the camera's longest event before `from`
// (event_longest, kept by triggers: migration 4). This bound lets a window be read from the
// (camera, start) index instead of from the first event the camera ever had.
int64_t window_start_bound(sql::Connection& db, const std::string& camera, int64_t from_ms) {
  auto st = db.prepare("SELECT ms FROM event_longest WHERE camera_id = :camera");
  st.bind(":camera", camera);
  return from_ms - (st.step() ? std::max<int64_t>(st.int64("ms"), 0) : 0);
}

}  // namespace

std::vector<EventRow> EventStore::find(const EventFilter& f) {
  std::lock_guard lock(mu_);
  // Newest first by (start, id), read backwards on an index in that order once the equality
  // filters are fixed: (camera, type, start), (camera, start), (type, start), or (start).
  // Every index ends with the rowid, so the order needs no sort, and a page reads its rows
  // plus those the remaining filters pass over; a window is bounded below by the longest event
  // (of the camera, or of any). Only conditions that apply are in the SQL (an "x IS NULL OR"
  // condition keeps SQLite off the index); values are always bound.
  const bool one_camera = f.cameras && f.cameras->size() == 1;
  std::string where = "WHERE TRUE ";
  if (one_camera) {
    where += "AND camera_id = :cam ";
  } else if (f.cameras) {
    where += "AND instr(:cams, ',' || camera_id || ',') > 0 ";
  }
  if (f.type) where += "AND type = :type ";
  if (f.zone) where += "AND instr(zones, ',' || :zone || ',') > 0 ";
  if (f.to) where += "AND start_ms < :to ";
  if (f.from) where += "AND end_ms >= :from AND start_ms >= :from_lo ";
  // Paging: what comes after the event before_id in this order. An event gone meanwhile
  // (retention) is placed where the newest event below its id is.
  std::optional<int64_t> before_start;
  if (f.before_id) {
    auto b =
        db_->prepare("SELECT start_ms FROM event WHERE id <= :before ORDER BY id DESC LIMIT 1");
    b.bind(":before", *f.before_id);
    if (!b.step()) return {};  // nothing that old
    before_start = b.int64("start_ms");
    where += "AND start_ms <= :before_start AND (start_ms < :before_start OR id < :before) ";
  }
  auto st =
      db_->prepare(std::string(kColumns) + where + "ORDER BY start_ms DESC, id DESC LIMIT :limit");
  if (one_camera) {
    st.bind(":cam", f.cameras->front());
  } else if (f.cameras) {
    st.bind(":cams", comma_list(*f.cameras).empty() ? std::string(",") : comma_list(*f.cameras));
  }
  if (f.type) st.bind(":type", *f.type);
  if (f.zone) st.bind(":zone", *f.zone);
  if (f.to) st.bind(":to", ms_since_epoch(*f.to));
  if (f.from) {
    const int64_t from = ms_since_epoch(*f.from);
    st.bind(":from", from);
    if (one_camera) {
      st.bind(":from_lo", window_start_bound(*db_, f.cameras->front(), from));
    } else {
      auto longest = db_->prepare("SELECT COALESCE(MAX(ms), 0) AS ms FROM event_longest");
      longest.step();
      st.bind(":from_lo", from - std::max<int64_t>(longest.int64("ms"), 0));
    }
  }
  if (before_start) st.bind(":before_start", *before_start).bind(":before", *f.before_id);
  st.bind(":limit", int64_t{f.limit});
  return read_rows(st);
}

std::vector<EventRow> EventStore::between(const std::string& camera, WallTime from, WallTime to) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(std::string(kColumns) +
                         "WHERE camera_id = :camera AND start_ms >= :from_lo AND start_ms < :to "
                         "AND end_ms >= :from ORDER BY start_ms");
  st.bind(":camera", camera)
      .bind(":from_lo", window_start_bound(*db_, camera, ms_since_epoch(from)))
      .bind(":to", ms_since_epoch(to))
      .bind(":from", ms_since_epoch(from));
  return read_rows(st);
}

}  // namespace vigil
