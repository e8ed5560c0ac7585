#include "catalog/catalog.h"

#include <map>

#include "core/error.h"

namespace vigil {
namespace {

// Numbered migrations; the database's user_version is how many have run. Append only: a
// released migration is never edited.
const char* const kMigrations[] = {
    // 1: segments, their fragment index, and gaps.
    R"sql(
    CREATE TABLE segment (
      id                 INTEGER PRIMARY KEY,
      camera_id          TEXT NOT NULL,
      state              TEXT NOT NULL CHECK (state IN ('writing', 'closed', 'deleting')),
      path               TEXT NOT NULL UNIQUE,
      wall_start_ms      INTEGER NOT NULL,
      wall_end_ms        INTEGER NOT NULL,
      media_duration_90k INTEGER NOT NULL DEFAULT 0,
      bytes              INTEGER NOT NULL DEFAULT 0,
      init_bytes         INTEGER NOT NULL DEFAULT 0,
      fragment_index     BLOB,
      sha256             BLOB,
      video_codec        TEXT NOT NULL,
      width              INTEGER NOT NULL,
      height             INTEGER NOT NULL,
      has_audio          INTEGER NOT NULL,
      close_reason       TEXT
    );
    CREATE INDEX segment_camera_start ON segment (camera_id, wall_start_ms);
    CREATE INDEX segment_state ON segment (state) WHERE state != 'closed';
    CREATE INDEX segment_start ON segment (wall_start_ms) WHERE state = 'closed';
    CREATE TABLE gap (
      id            INTEGER PRIMARY KEY,
      camera_id     TEXT NOT NULL,
      wall_start_ms INTEGER NOT NULL,
      wall_end_ms   INTEGER NOT NULL,
      reason        TEXT NOT NULL
    );
    CREATE INDEX gap_camera_start ON gap (camera_id, wall_start_ms);
    )sql",
    // 2: accounts (catalog/accounts.h): users, login sessions, API tokens, and the audit log.
    // Secrets are stored only as hashes (Argon2id for passwords, SHA-256 for random ids).
    R"sql(
    CREATE TABLE user (
      id            INTEGER PRIMARY KEY,
      name          TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
      cameras       TEXT,  -- NULL: every camera; else camera ids separated by ','
      created_ms    INTEGER NOT NULL
    );
    CREATE TABLE session (
      id_sha256     BLOB PRIMARY KEY,
      user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
      created_ms    INTEGER NOT NULL,
      expires_ms    INTEGER NOT NULL,
      address       TEXT NOT NULL
    );
    CREATE INDEX session_user ON session (user_id);
    CREATE TABLE api_token (
      id            INTEGER PRIMARY KEY,
      token_sha256  BLOB NOT NULL UNIQUE,
      user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      created_ms    INTEGER NOT NULL,
      last_used_ms  INTEGER
    );
    CREATE INDEX api_token_user ON api_token (user_id);
    -- Who did what, when, from where. user_name is a copy: the row outlives the user.
    CREATE TABLE audit (
      id            INTEGER PRIMARY KEY,
      at_ms         INTEGER NOT NULL,
      user_name     TEXT,
      address       TEXT NOT NULL,
      action        TEXT NOT NULL,
      camera_id     TEXT,
      range_start_ms INTEGER,
      range_end_ms  INTEGER,
      detail        TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_at ON audit (at_ms);
    -- Append-only, enforced by the database itself and not only by the absence of code.
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    )sql",
    // 3: events (catalog/event_store.h): what analysis noticed, with hysteresis applied. An
    // open event's end_ms is its last known time, so a crash leaves a usable row.
    R"sql(
    CREATE TABLE event (
      id            INTEGER PRIMARY KEY,
      camera_id     TEXT NOT NULL,
      type          TEXT NOT NULL,
      state         TEXT NOT NULL CHECK (state IN ('open', 'closed')),
      start_ms      INTEGER NOT NULL,
      end_ms        INTEGER NOT NULL,
      zones         TEXT NOT NULL DEFAULT '',  -- ',a,b,' (commas around every name), '' = none
      peak_score    REAL NOT NULL,
      peak_ms       INTEGER NOT NULL,
      box_x         REAL,
      box_y         REAL,
      box_w         REAL,
      box_h         REAL,
      armed         INTEGER NOT NULL,
      snapshot      TEXT,  -- relative to the data directory; set once the file is written
      close_reason  TEXT
    );
    CREATE INDEX event_camera_start ON event (camera_id, start_ms);
    CREATE INDEX event_type_start ON event (type, start_ms);
    CREATE INDEX event_open ON event (state) WHERE state = 'open';
    )sql",
    // 4: what a status, an API call or a retention pass reads must not grow with the archive
    // (docs/design/storage.md, "A year costs what a day costs"). Each camera's usage (rows not
    // being deleted: their bytes and count) is kept by triggers, so it changes in the very
    // transaction that adds, closes, marks or removes a segment row; `vigil check` compares it
    // with the rows and `vigil check --repair` rebuilds it. The newest footage of a camera comes
    // from an index on its end. The timeline's window of a camera is read from an index that
    // covers it (start, end, state: no table row, with its blobs, per segment); it replaces the
    // (camera, start) index, whose prefix it is. The longest event of each camera bounds a
    // query for the events overlapping a window from below, like the hour does for segments.
    // Retention remembers up to when it has judged the footage of cameras recorded in mode
    // "events". On an existing archive this migration reads every row once and builds two
    // indexes, at the first start after the upgrade (not yet timed on a year-old archive).
    R"sql(
    CREATE TABLE camera_usage (
      camera_id TEXT PRIMARY KEY,
      bytes     INTEGER NOT NULL,
      segments  INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO camera_usage (camera_id, bytes, segments)
      SELECT camera_id, SUM(bytes), COUNT(*) FROM segment WHERE state != 'deleting'
      GROUP BY camera_id;
    CREATE TRIGGER segment_usage_insert AFTER INSERT ON segment WHEN new.state != 'deleting'
    BEGIN
      INSERT INTO camera_usage (camera_id, bytes, segments) VALUES (new.camera_id, new.bytes, 1)
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes,
                                              segments = segments + 1;
    END;
    CREATE TRIGGER segment_usage_delete AFTER DELETE ON segment WHEN old.state != 'deleting'
    BEGIN
      UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1
        WHERE camera_id = old.camera_id;
    END;
    CREATE TRIGGER segment_usage_update AFTER UPDATE OF camera_id, state, bytes ON segment
    BEGIN
      UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1
        WHERE camera_id = old.camera_id AND old.state != 'deleting';
      INSERT INTO camera_usage (camera_id, bytes, segments)
        SELECT new.camera_id, new.bytes, 1 WHERE new.state != 'deleting'
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes,
                                              segments = segments + 1;
    END;
    CREATE INDEX segment_camera_end ON segment (camera_id, wall_end_ms);
    CREATE INDEX segment_camera_span ON segment (camera_id, wall_start_ms, wall_end_ms, state);
    DROP INDEX segment_camera_start;
    CREATE TABLE event_longest (
      camera_id TEXT PRIMARY KEY,
      ms        INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO event_longest (camera_id, ms)
      SELECT camera_id, MAX(end_ms - start_ms) FROM event GROUP BY camera_id;
    CREATE TRIGGER event_longest_insert AFTER INSERT ON event
    BEGIN
      INSERT INTO event_longest (camera_id, ms) VALUES (new.camera_id, new.end_ms - new.start_ms)
        ON CONFLICT (camera_id) DO UPDATE SET ms = MAX(ms, excluded.ms);
    END;
    CREATE TRIGGER event_longest_update AFTER UPDATE OF start_ms, end_ms ON event
    BEGIN
      INSERT INTO event_longest (camera_id, ms) VALUES (new.camera_id, new.end_ms - new.start_ms)
        ON CONFLICT (camera_id) DO UPDATE SET ms = MAX(ms, excluded.ms);
    END;
    CREATE TABLE events_judged (
      camera_id TEXT PRIMARY KEY,
      until_ms  INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 8 (issue 18; COMMON.md gives this one number 8, after 5-7 of other branches): rights that
    // fail closed. A NULL camera list meant every camera; it is written "*" now, so that no list
    // can mean none. Nobody's access changes: every NULL becomes "*" (README, release notes).
    // API tokens get a scope ('full', or 'metrics': GET /metrics and nothing else) and an
    // optional expiry.
    R"sql(
    UPDATE user SET cameras = '*' WHERE cameras IS NULL;
    ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
      CHECK (scope IN ('full', 'metrics'));
    ALTER TABLE api_token ADD COLUMN expires_ms INTEGER;
    )sql",
};

// Reader connections kept open between reads; more are opened while more threads read at once.
constexpr size_t kIdleReaders = 4;

SegmentState parse_state(const std::string& s) {
  if (s == "writing") return SegmentState::kWriting;
  if (s == "closed") return SegmentState::kClosed;
  return SegmentState::kDeleting;
}

void bind_new_segment(sql::Statement& st, const NewSegment& s) {
  st.bind(":camera", s.camera_id)
      .bind(":path", s.path)
      .bind(":start", ms_since_epoch(s.wall_start))
      .bind(":codec", s.video_codec)
      .bind(":width", int64_t{s.width})
      .bind(":height", int64_t{s.height})
      .bind(":audio", int64_t{s.has_audio});
}

const char* kSegmentColumns =
    "SELECT id, camera_id, state, path, wall_start_ms, wall_end_ms, media_duration_90k, bytes, "
    "init_bytes, fragment_index, sha256, video_codec, width, height, has_audio, close_reason "
    "FROM segment ";

}  // namespace

const char* segment_state_name(SegmentState s) {
  switch (s) {
    case SegmentState::kWriting: return "writing";
    case SegmentState::kClosed: return "closed";
    case SegmentState::kDeleting: return "deleting";
  }
  return "?";
}

Catalog::Catalog(const std::filesystem::path& db_file)
    : file_(db_file.string()), db_(file_) {
  // WAL: readers never block the writer. synchronous=FULL: a committed row survives power loss,
  // which the crash-safety order (file fsync'd before its row) relies on.
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=FULL");
  db_.exec("PRAGMA foreign_keys=ON");
  migrate();
}

Catalog::Reader::Reader(Catalog& c) : catalog_(c) {
  {
    std::lock_guard lock(c.readers_mu_);
    if (!c.idle_readers_.empty()) {
      conn_ = std::move(c.idle_readers_.back());
      c.idle_readers_.pop_back();
    }
  }
  if (!conn_) {
    conn_ = std::make_unique<sql::Connection>(c.file_);
    // Reads only: a bug that wrote through a reader would bypass the writer's lock.
    conn_->exec("PRAGMA query_only=1");
  }
  before_ = conn_->cost();
}

Catalog::Reader::~Reader() {
  sql::StatementCost used = conn_->cost();
  used.vm_steps -= before_.vm_steps;
  used.fullscan_steps -= before_.fullscan_steps;
  used.sorts -= before_.sorts;
  std::lock_guard lock(catalog_.readers_mu_);
  catalog_.read_cost_ += used;
  if (catalog_.idle_readers_.size() < kIdleReaders) {
    catalog_.idle_readers_.push_back(std::move(conn_));
  }
}

sql::StatementCost Catalog::cost() {
  sql::StatementCost total;
  {
    std::lock_guard lock(mu_);
    total = db_.cost();
  }
  std::lock_guard lock(readers_mu_);
  total += read_cost_;
  return total;
}

int Catalog::schema_version() {
  std::lock_guard lock(mu_);
  auto st = db_.prepare("PRAGMA user_version");
  st.step();
  return static_cast<int>(st.int64("user_version"));
}

void Catalog::migrate() {
  std::lock_guard lock(mu_);
  const int64_t have = [this] {
    // Finalized before the migrations run: a pending statement keeps DROP INDEX from running.
    auto st = db_.prepare("PRAGMA user_version");
    st.step();
    return st.int64("user_version");
  }();
  const int64_t want = static_cast<int64_t>(std::size(kMigrations));
  if (have > want) {
    throw Error(ErrorCode::kFailedPrecondition,
                db_.path() + ": catalog schema version " + std::to_string(have) +
                    " is newer than this vigil understands (" + std::to_string(want) +
                    "); run a newer vigil");
  }
  for (int64_t v = have; v < want; ++v) {
    sql::Transaction tx(db_);
    db_.exec(kMigrations[v]);
    db_.exec("PRAGMA user_version=" + std::to_string(v + 1));
    tx.commit();
  }
}

int64_t Catalog::begin_segment(const NewSegment& s) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, video_codec, "
      "width, height, has_audio) VALUES (:camera, 'writing', :path, :start, :start, :codec, "
      ":width, :height, :audio)");
  bind_new_segment(st, s);
  st.run();
  return db_.last_insert_rowid();
}

void Catalog::close_segment(int64_t id, const ClosedSegment& c) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "UPDATE segment SET state = 'closed', wall_end_ms = :end, media_duration_90k = :dur, "
      "bytes = :bytes, init_bytes = :init, fragment_index = :index, sha256 = :sha, "
      "close_reason = :reason WHERE id = :id");
  st.bind(":end", ms_since_epoch(c.wall_end))
      .bind(":dur", c.media_duration.count())
      .bind(":bytes", static_cast<int64_t>(c.bytes))
      .bind(":init", static_cast<int64_t>(c.init_bytes))
      .bind(":index", c.fragment_index)
      .bind(":sha", c.sha256)
      .bind(":reason", c.close_reason)
      .bind(":id", id);
  st.run();
  if (db_.changes() != 1) {
    throw Error(ErrorCode::kNotFound, "close segment " + std::to_string(id) + ": no such row");
  }
}

int64_t Catalog::insert_closed_segment(const NewSegment& s, const ClosedSegment& c) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, video_codec, "
      "width, height, has_audio, media_duration_90k, bytes, init_bytes, fragment_index, sha256, "
      "close_reason) VALUES (:camera, 'closed', :path, :start, :end, :codec, :width, :height, "
      ":audio, :dur, :bytes, :init, :index, :sha, :reason)");
  bind_new_segment(st, s);
  st.bind(":end", ms_since_epoch(c.wall_end))
      .bind(":dur", c.media_duration.count())
      .bind(":bytes", static_cast<int64_t>(c.bytes))
      .bind(":init", static_cast<int64_t>(c.init_bytes))
      .bind(":index", c.fragment_index)
      .bind(":sha", c.sha256)
      .bind(":reason", c.close_reason);
  st.run();
  return db_.last_insert_rowid();
}

void Catalog::mark_deleting(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare("UPDATE segment SET state = 'deleting' WHERE id = :id");
  st.bind(":id", id).run();
}

void Catalog::delete_segment_row(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare("DELETE FROM segment WHERE id = :id");
  st.bind(":id", id).run();
}

namespace {

SegmentRow segment_row(const sql::Statement& st) {
  SegmentRow r;
  r.id = st.int64("id");
  r.camera_id = st.text("camera_id");
  r.state = parse_state(st.text("state"));
  r.path = st.text("path");
  r.wall_start = wall_from_ms(st.int64("wall_start_ms"));
  r.wall_end = wall_from_ms(st.int64("wall_end_ms"));
  r.media_duration = Ticks90k(st.int64("media_duration_90k"));
  r.bytes = static_cast<uint64_t>(st.int64("bytes"));
  r.init_bytes = static_cast<uint64_t>(st.int64("init_bytes"));
  r.fragment_index = st.blob("fragment_index");
  r.sha256 = st.blob("sha256");
  r.video_codec = st.text("video_codec");
  r.width = static_cast<int>(st.int64("width"));
  r.height = static_cast<int>(st.int64("height"));
  r.has_audio = st.int64("has_audio") != 0;
  r.close_reason = st.text("close_reason");
  return r;
}

}  // namespace

std::vector<SegmentRow> Catalog::query_segments(sql::Statement& st) {
  std::vector<SegmentRow> out;
  while (st.step()) out.push_back(segment_row(st));
  return out;
}

std::optional<SegmentRow> Catalog::segment(int64_t id) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "WHERE id = :id");
  st.bind(":id", id);
  auto rows = query_segments(st);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<SegmentRow> Catalog::segments_in_state(SegmentState s) {
  Reader r(*this);
  // Rows writing or deleting are few and have a partial index, which SQLite uses only when the
  // query repeats the index's condition; closed ones are (almost) all of them.
  auto st = r->prepare(std::string(kSegmentColumns) +
                       (s == SegmentState::kClosed
                            ? "WHERE state = :state ORDER BY id"
                            : "WHERE state = :state AND state != 'closed' ORDER BY id"));
  st.bind(":state", std::string(segment_state_name(s)));
  return query_segments(st);
}

namespace {

// Binds :camera, :to, :from and :from_lo of a query over segments overlapping [from, to).
// wall_start_ms is indexed; segments are at most an hour long, so bounding the start from
// below by (from - 1 h) keeps the scan on the index while still catching an overlapping one.
void bind_window(sql::Statement& st, const std::string& camera, WallTime from, WallTime to) {
  st.bind(":camera", camera)
      .bind(":to", ms_since_epoch(to))
      .bind(":from_lo", ms_since_epoch(from) - 3'600'000 - 60'000)
      .bind(":from", ms_since_epoch(from));
}

}  // namespace

std::vector<SegmentRow> Catalog::segments_between(const std::string& camera, WallTime from,
                                                  WallTime to) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) +
                        "WHERE camera_id = :camera AND wall_start_ms < :to "
                        "AND wall_start_ms >= :from_lo AND wall_end_ms > :from "
                        "ORDER BY wall_start_ms");
  bind_window(st, camera, from, to);
  return query_segments(st);
}

std::vector<SegmentSpan> Catalog::spans_between(const std::string& camera, WallTime from,
                                                WallTime to) {
  Reader r(*this);
  auto st = r->prepare(
      "SELECT id, state, wall_start_ms, wall_end_ms FROM segment "
      "WHERE camera_id = :camera AND wall_start_ms < :to "
      "AND wall_start_ms >= :from_lo AND (wall_end_ms > :from OR state = 'writing') "
      "ORDER BY wall_start_ms");
  bind_window(st, camera, from, to);
  std::vector<SegmentSpan> out;
  while (st.step()) {
    SegmentSpan s;
    s.id = st.int64("id");
    s.state = parse_state(st.text("state"));
    s.wall_start = wall_from_ms(st.int64("wall_start_ms"));
    s.wall_end = wall_from_ms(st.int64("wall_end_ms"));
    out.push_back(s);
  }
  return out;
}

std::vector<SegmentRow> Catalog::all_segments() {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "ORDER BY camera_id, wall_start_ms");
  return query_segments(st);
}

std::vector<SegmentRow> Catalog::oldest_closed(const std::string& camera, int limit) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) +
                        "WHERE camera_id = :camera AND state = 'closed' "
                        "ORDER BY wall_start_ms LIMIT :limit");
  st.bind(":camera", camera).bind(":limit", int64_t{limit});
  return query_segments(st);
}

std::vector<SegmentRow> Catalog::oldest_closed_any(int limit) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) +
                        "WHERE state = 'closed' ORDER BY wall_start_ms LIMIT :limit");
  st.bind(":limit", int64_t{limit});
  return query_segments(st);
}

std::vector<std::string> Catalog::cameras_with_segments() {
  // DISTINCT would read every row; this jumps from one camera to the next on the index.
  Reader r(*this);
  auto st = r->prepare(
      "WITH RECURSIVE cam(id) AS ("
      "  SELECT (SELECT MIN(camera_id) FROM segment) "
      "  UNION ALL "
      "  SELECT (SELECT MIN(camera_id) FROM segment WHERE camera_id > cam.id) FROM cam "
      "  WHERE cam.id IS NOT NULL) "
      "SELECT id AS camera_id FROM cam WHERE id IS NOT NULL");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text("camera_id"));
  return out;
}

namespace {

// The newest end of a camera's footage, on the (camera, end) index; deleting rows are the
// oldest, so the walk back from the newest end stops at once.
const char* kNewestEnd =
    "SELECT wall_end_ms FROM segment WHERE camera_id = :camera AND state != 'deleting' "
    "ORDER BY wall_end_ms DESC LIMIT 1";

}  // namespace

CameraUsage Catalog::usage(const std::string& camera) {
  Reader r(*this);
  // One read transaction: the three figures agree with each other.
  r->exec("BEGIN");
  CameraUsage u;
  try {
    auto kept = r->prepare("SELECT bytes, segments FROM camera_usage WHERE camera_id = :camera");
    kept.bind(":camera", camera);
    if (kept.step()) {
      u.bytes = static_cast<uint64_t>(kept.int64("bytes"));
      u.segments = kept.int64("segments");
    }
    auto oldest = r->prepare(
        "SELECT wall_start_ms FROM segment WHERE camera_id = :camera AND state != 'deleting' "
        "ORDER BY wall_start_ms LIMIT 1");
    oldest.bind(":camera", camera);
    if (oldest.step()) u.oldest_start = wall_from_ms(oldest.int64("wall_start_ms"));
    auto newest = r->prepare(kNewestEnd);
    newest.bind(":camera", camera);
    if (newest.step()) u.newest_end = wall_from_ms(newest.int64("wall_end_ms"));
  } catch (...) {
    r->exec("ROLLBACK");
    throw;
  }
  r->exec("COMMIT");
  return u;
}

uint64_t Catalog::total_bytes() {
  Reader r(*this);
  auto st = r->prepare("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM camera_usage");
  st.step();
  return static_cast<uint64_t>(st.int64("bytes"));
}

std::optional<WallTime> Catalog::last_wall_end(const std::string& camera) {
  Reader r(*this);
  auto st = r->prepare(kNewestEnd);
  st.bind(":camera", camera);
  if (st.step()) return wall_from_ms(st.int64("wall_end_ms"));
  return std::nullopt;
}

std::vector<Catalog::UsageFix> Catalog::check_usage(bool repair) {
  // What the rows say against what the triggers kept, on one snapshot. Repairing writes, so it
  // takes the writer (`vigil check --repair` runs with vigil serve stopped).
  std::unique_lock<std::mutex> write_lock;
  std::optional<Reader> reader;
  sql::Connection* conn = nullptr;
  if (repair) {
    write_lock = std::unique_lock(mu_);
    conn = &db_;
  } else {
    reader.emplace(*this);
    conn = &**reader;
  }
  conn->exec(repair ? "BEGIN IMMEDIATE" : "BEGIN");
  std::vector<UsageFix> out;
  try {
    std::map<std::string, std::pair<CameraUsage, CameraUsage>> by_camera;  // kept, counted
    auto kept = conn->prepare("SELECT camera_id, bytes, segments FROM camera_usage");
    while (kept.step()) {
      CameraUsage& u = by_camera[kept.text("camera_id")].first;
      u.bytes = static_cast<uint64_t>(kept.int64("bytes"));
      u.segments = kept.int64("segments");
    }
    auto counted = conn->prepare(
        "SELECT camera_id, SUM(bytes) AS bytes, COUNT(*) AS segments FROM segment "
        "WHERE state != 'deleting' GROUP BY camera_id");
    while (counted.step()) {
      CameraUsage& u = by_camera[counted.text("camera_id")].second;
      u.bytes = static_cast<uint64_t>(counted.int64("bytes"));
      u.segments = counted.int64("segments");
    }
    for (const auto& [camera, pair] : by_camera) {
      const auto& [was, now] = pair;
      if (was.bytes != now.bytes || was.segments != now.segments) {
        out.push_back(UsageFix{camera, was, now});
      }
    }
    if (repair && !out.empty()) {
      conn->exec("DELETE FROM camera_usage");
      conn->exec(
          "INSERT INTO camera_usage (camera_id, bytes, segments) "
          "SELECT camera_id, SUM(bytes), COUNT(*) FROM segment WHERE state != 'deleting' "
          "GROUP BY camera_id");
    }
  } catch (...) {
    conn->exec("ROLLBACK");
    throw;
  }
  conn->exec("COMMIT");
  return out;
}

void Catalog::for_each_segment(const std::function<void(const SegmentRow&)>& fn) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "ORDER BY camera_id, wall_start_ms");
  while (st.step()) fn(segment_row(st));
}

bool Catalog::has_segment_path(const std::string& path) {
  Reader r(*this);
  auto st = r->prepare("SELECT 1 AS found FROM segment WHERE path = :path");
  st.bind(":path", path);
  return st.step();
}

std::optional<WallTime> Catalog::events_judged_until(const std::string& camera) {
  Reader r(*this);
  auto st = r->prepare("SELECT until_ms FROM events_judged WHERE camera_id = :camera");
  st.bind(":camera", camera);
  if (st.step()) return wall_from_ms(st.int64("until_ms"));
  return std::nullopt;
}

void Catalog::set_events_judged_until(const std::string& camera, WallTime t) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO events_judged (camera_id, until_ms) VALUES (:camera, :until) "
      "ON CONFLICT (camera_id) DO UPDATE SET until_ms = excluded.until_ms");
  st.bind(":camera", camera).bind(":until", ms_since_epoch(t)).run();
}

void Catalog::add_gap(const std::string& camera, WallTime start, WallTime end,
                      const std::string& reason) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO gap (camera_id, wall_start_ms, wall_end_ms, reason) "
      "VALUES (:camera, :start, :end, :reason)");
  st.bind(":camera", camera)
      .bind(":start", ms_since_epoch(start))
      .bind(":end", ms_since_epoch(end))
      .bind(":reason", reason);
  st.run();
}

std::vector<GapRow> Catalog::gaps_between(const std::string& camera, WallTime from, WallTime to) {
  Reader r(*this);
  auto st = r->prepare(
      "SELECT id, camera_id, wall_start_ms, wall_end_ms, reason FROM gap "
      "WHERE camera_id = :camera AND wall_start_ms < :to AND wall_end_ms > :from "
      "ORDER BY wall_start_ms");
  st.bind(":camera", camera).bind(":to", ms_since_epoch(to)).bind(":from", ms_since_epoch(from));
  std::vector<GapRow> out;
  while (st.step()) {
    GapRow g;
    g.id = st.int64("id");
    g.camera_id = st.text("camera_id");
    g.wall_start = wall_from_ms(st.int64("wall_start_ms"));
    g.wall_end = wall_from_ms(st.int64("wall_end_ms"));
    g.reason = st.text("reason");
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace vigil
