#include "catalog/catalog.h"

#include <chrono>
#include <map>
#include <thread>

#include "catalog/audit_chain.h"
#include "catalog/postgres_schema.h"
#include "catalog/sqlite.h"
#include "catalog/text_index.h"
#include "core/error.h"

namespace vigil {
namespace {

// Runs (migration 5), written once for the migration's fill, the triggers and `vigil check`.
// String literals only, so that the migrations stay literals. 250 is kRunToleranceMs. Part of
// a released migration: never edited (a change is a new migration that replaces the triggers).
//
// The runs of the segment rows that match `where` (which excludes 'deleting' rows): each row
// starts a run when it begins more than the tolerance after the latest end of the rows before
// it (in start order); a run's number is how many runs began up to its row. Read in the order
// of the covering index segment_camera_span, so without a sort.
#define VIGIL_RUNS_OF(where)                                                                   \
  " SELECT camera_id, MIN(wall_start_ms), MAX(wall_end_ms), COUNT(*), SUM(state = 'writing')"  \
  " FROM (SELECT camera_id, wall_start_ms, wall_end_ms, state, SUM(starts) OVER (PARTITION BY" \
  " camera_id ORDER BY wall_start_ms, wall_end_ms ROWS UNBOUNDED PRECEDING) AS run FROM"       \
  " (SELECT camera_id, wall_start_ms, wall_end_ms, state, COALESCE(wall_start_ms > 250 +"      \
  " MAX(wall_end_ms) OVER (PARTITION BY camera_id ORDER BY wall_start_ms, wall_end_ms ROWS"    \
  " BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 1) AS starts FROM segment WHERE " where      \
  ")) GROUP BY camera_id, run"
// A row that was and stays in a run, at the same start, and ends no earlier (a segment closing):
// its run only grows.
#define VIGIL_RUN_GROWS                                                                     \
  "(old.state != 'deleting' AND new.state != 'deleting' AND new.camera_id = old.camera_id" \
  " AND new.wall_start_ms = old.wall_start_ms AND new.wall_end_ms >= old.wall_end_ms)"
// The new row joins the runs its extent touches: one run replaces them (the camera's last run
// when a recorder adds its next file; a row put back between two runs joins them). The merged
// row is the newest id, so the runs it replaces are the older ones it overlaps.
#define VIGIL_RUN_ADD(segments, writing)                                                    \
  "INSERT INTO segment_run (camera_id, wall_start_ms, wall_end_ms, segments, writing)"      \
  " SELECT * FROM (SELECT new.camera_id, MIN(new.wall_start_ms, COALESCE(MIN(wall_start_ms)," \
  " new.wall_start_ms)), MAX(new.wall_end_ms, COALESCE(MAX(wall_end_ms), new.wall_end_ms)),"  \
  " COALESCE(SUM(segments), 0) + " segments ", COALESCE(SUM(writing), 0) + " writing          \
  " FROM segment_run WHERE " VIGIL_RUN_TOUCHES ") WHERE new.state != 'deleting';"            \
  " DELETE FROM segment_run WHERE new.state != 'deleting' AND " VIGIL_RUN_TOUCHES            \
  " AND id < (SELECT MAX(id) FROM segment_run);"
#define VIGIL_RUN_TOUCHES                                                              \
  "camera_id = new.camera_id AND wall_end_ms >= new.wall_start_ms - 250 AND"           \
  " wall_start_ms <= new.wall_end_ms + 250"
// The old row leaves its run R, the camera's first run that ends at or after the row's start
// (runs do not overlap). Each statement's condition is false once an earlier one has applied:
//  - R had only this row: R goes;
//  - the row was R's first and the next row ends no earlier: R starts at the next row;
//  - no other row of R starts at or after it (it was R's last): R ends at the latest end left,
//    found on the (camera, end) index among ends inside R (only R's rows end there);
//  - otherwise (from the middle): R is marked, rebuilt from its rows, and the mark removed.
#define VIGIL_RUN_OF_OLD                                                                    \
  "id = (SELECT id FROM segment_run WHERE camera_id = old.camera_id AND wall_end_ms >="     \
  " old.wall_start_ms ORDER BY wall_end_ms LIMIT 1) AND wall_start_ms <= old.wall_start_ms" \
  " AND old.state != 'deleting'"
#define VIGIL_RUN_OTHERS "camera_id = old.camera_id AND state != 'deleting' AND id != old.id"
#define VIGIL_RUN_NEXT(column)                                                                 \
  "(SELECT " column " FROM segment WHERE " VIGIL_RUN_OTHERS " AND wall_start_ms >="          \
  " old.wall_start_ms ORDER BY wall_start_ms LIMIT 1)"
#define VIGIL_RUN_FROM_START                                                                  \
  "COALESCE(wall_start_ms = old.wall_start_ms AND " VIGIL_RUN_NEXT("wall_end_ms")             \
  " >= old.wall_end_ms, 0)"
#define VIGIL_RUN_OTHERS_AFTER                                                                \
  "EXISTS (SELECT 1 FROM segment WHERE " VIGIL_RUN_OTHERS " AND wall_start_ms BETWEEN"       \
  " old.wall_start_ms AND segment_run.wall_end_ms)"
#define VIGIL_RUN_MARKED(column) \
  "(SELECT " column " FROM segment_run WHERE camera_id = old.camera_id AND segments < 0)"
#define VIGIL_RUN_REMOVE                                                                       \
  "DELETE FROM segment_run WHERE " VIGIL_RUN_OF_OLD " AND segments = 1;"                      \
  " UPDATE segment_run SET wall_start_ms = " VIGIL_RUN_NEXT("wall_start_ms") ","              \
  " segments = segments - 1, writing = writing - (old.state = 'writing')"                      \
  " WHERE " VIGIL_RUN_OF_OLD " AND segments > 1 AND " VIGIL_RUN_FROM_START ";"                \
  " UPDATE segment_run SET wall_end_ms = (SELECT wall_end_ms FROM segment WHERE"               \
  " " VIGIL_RUN_OTHERS " AND wall_end_ms BETWEEN segment_run.wall_start_ms AND"               \
  " segment_run.wall_end_ms ORDER BY wall_end_ms DESC LIMIT 1), segments = segments - 1,"     \
  " writing = writing - (old.state = 'writing')"                                               \
  " WHERE " VIGIL_RUN_OF_OLD " AND segments > 1 AND NOT " VIGIL_RUN_OTHERS_AFTER ";"          \
  " UPDATE segment_run SET segments = -segments WHERE " VIGIL_RUN_OF_OLD " AND segments > 1"  \
  " AND " VIGIL_RUN_OTHERS_AFTER " AND NOT " VIGIL_RUN_FROM_START ";"                         \
  " INSERT INTO segment_run (camera_id, wall_start_ms, wall_end_ms, segments, writing)"       \
  VIGIL_RUNS_OF(VIGIL_RUN_OTHERS " AND wall_start_ms BETWEEN " VIGIL_RUN_MARKED(              \
      "wall_start_ms") " AND " VIGIL_RUN_MARKED("wall_end_ms")) ";"                            \
  " DELETE FROM segment_run WHERE camera_id = old.camera_id AND segments < 0;"

// Migration 7 (issue 17): evidence holds and the audit log's hash chain. Holds: a named, reasoned time range over some cameras that
// retention must not delete (retention/holds.h); released, never deleted, so the audit and the
// list keep what was held. The audit chain (catalog/audit_chain.h): a link column, back-filled
// for the rows already there by backfill_audit_links() in this migration's transaction, which
// then puts the append-only trigger back (dropped here so the back-fill can write the links).
const char* const kHoldsAndAuditChain = R"sql(
    CREATE TABLE hold (
      id          INTEGER PRIMARY KEY,
      name        TEXT NOT NULL,
      reason      TEXT NOT NULL,
      from_ms     INTEGER NOT NULL,
      to_ms       INTEGER NOT NULL,
      created_ms  INTEGER NOT NULL,
      created_by  TEXT NOT NULL,
      released_ms INTEGER,
      released_by TEXT
    );
    CREATE INDEX hold_active ON hold (released_ms) WHERE released_ms IS NULL;
    CREATE TABLE hold_camera (
      camera_id TEXT NOT NULL,
      hold_id   INTEGER NOT NULL REFERENCES hold (id),
      PRIMARY KEY (camera_id, hold_id)
    ) WITHOUT ROWID;
    DROP TRIGGER audit_no_update;
    ALTER TABLE audit ADD COLUMN link BLOB;
    )sql";

// What kHoldsAndAuditChain leaves to C++: the links need SHA-256, which SQLite lacks.
void finish_holds_and_audit_chain(sql::Connection& db) {
  backfill_audit_links(db);
  db.exec(R"sql(
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    )sql");
}

// Migration 5: the timeline of a month must cost what its runs and gaps are, not its segments
// (docs/design/storage.md, "Runs for the timeline"). A run is a camera's stretch of
// back-to-back segments: those not being deleted, in start order, each beginning at most
// kRunToleranceMs after the latest end before it (the timeline's merge rule). Triggers keep
// segment_run in the statement that changes a segment row: a new or growing segment extends
// (or joins) the runs it touches; one that leaves (deleting, deleted, moved) shrinks its run
// from the start or the end by an index lookup, and only a segment taken from the middle of
// a run (events-mode retention, a repair) has that one run rebuilt from its rows. `vigil
// check` compares the table with the rows; `--repair` rebuilds it. The events list, the
// audit list and gaps_between get the indexes that let them read a page, not the table:
// events (by camera, type, both, or none) and audit entries (by user, action, camera or
// none) newest first by (time, id); gaps bounded below by the camera's longest. On an
// existing archive fill_segment_runs() reads every segment row once (README, "archive-age":
// its time).
const char* const kSegmentRuns = R"sql(
    CREATE TABLE segment_run (
      id            INTEGER PRIMARY KEY,
      camera_id     TEXT NOT NULL,
      wall_start_ms INTEGER NOT NULL,
      wall_end_ms   INTEGER NOT NULL,  -- latest end of its segments (a writing one: its start)
      segments      INTEGER NOT NULL,  -- negative only inside a trigger, while it is rebuilt
      writing       INTEGER NOT NULL   -- its segments being written: it reaches up to now
    );
    CREATE INDEX segment_run_camera_end ON segment_run (camera_id, wall_end_ms);
    CREATE INDEX segment_run_writing ON segment_run (camera_id) WHERE writing > 0;
    CREATE INDEX segment_run_rebuilt ON segment_run (camera_id) WHERE segments < 0;
    CREATE TRIGGER segment_run_insert AFTER INSERT ON segment WHEN new.state != 'deleting'
    BEGIN
    )sql" VIGIL_RUN_ADD("1", "(new.state = 'writing')") R"sql(
    END;
    CREATE TRIGGER segment_run_grow AFTER UPDATE OF camera_id, state, wall_start_ms, wall_end_ms
    ON segment WHEN )sql" VIGIL_RUN_GROWS R"sql(
    BEGIN
    )sql" VIGIL_RUN_ADD("0", "(new.state = 'writing') - (old.state = 'writing')") R"sql(
    END;
    CREATE TRIGGER segment_run_move AFTER UPDATE OF camera_id, state, wall_start_ms, wall_end_ms
    ON segment WHEN NOT )sql" VIGIL_RUN_GROWS R"sql(
      AND (old.state != 'deleting' OR new.state != 'deleting')
    BEGIN
    )sql" VIGIL_RUN_REMOVE VIGIL_RUN_ADD("1", "(new.state = 'writing')") R"sql(
    END;
    CREATE TRIGGER segment_run_delete AFTER DELETE ON segment WHEN old.state != 'deleting'
    BEGIN
    )sql" VIGIL_RUN_REMOVE R"sql(
    END;
    CREATE TABLE gap_longest (
      camera_id TEXT PRIMARY KEY,
      ms        INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO gap_longest (camera_id, ms)
      SELECT camera_id, MAX(wall_end_ms - wall_start_ms) FROM gap GROUP BY camera_id;
    CREATE TRIGGER gap_longest_insert AFTER INSERT ON gap
    BEGIN
      INSERT INTO gap_longest (camera_id, ms)
        VALUES (new.camera_id, new.wall_end_ms - new.wall_start_ms)
        ON CONFLICT (camera_id) DO UPDATE SET ms = MAX(ms, excluded.ms);
    END;
    CREATE INDEX event_start ON event (start_ms);
    CREATE INDEX event_camera_type_start ON event (camera_id, type, start_ms);
    CREATE INDEX audit_user_at ON audit (user_name, at_ms);
    CREATE INDEX audit_action_at ON audit (action, at_ms);
    CREATE INDEX audit_camera_at ON audit (camera_id, at_ms);
    )sql";

// Migration 5's fill of segment_run and `vigil check --repair`'s rebuild: the runs of the rows
// not being deleted by VIGIL_RUNS_OF's rule, in one pass over the covering index
// segment_camera_span. The same rule as one window query cost SQLite ~4 us a row (two window
// passes and a sort for its GROUP BY): most of the first start after the upgrade, during which
// nothing records.
void fill_segment_runs(sql::Connection& db) {
  db.exec("DELETE FROM segment_run");
  auto rows = db.prepare(
      "SELECT camera_id, wall_start_ms, wall_end_ms, CAST(state = 'writing' AS INTEGER) AS writing "
      "FROM segment "
      "WHERE state != 'deleting' ORDER BY camera_id, wall_start_ms, wall_end_ms");
  struct Run {
    std::string camera;
    int64_t start = 0, end = 0, segments = 0, writing = 0;
  };
  std::optional<Run> run;
  const auto add = [&db](const Run& r) {
    db.prepare("INSERT INTO segment_run (camera_id, wall_start_ms, wall_end_ms, segments, writing) "
               "VALUES (:camera, :start, :end, :segments, :writing)")
        .bind(":camera", r.camera)
        .bind(":start", r.start)
        .bind(":end", r.end)
        .bind(":segments", r.segments)
        .bind(":writing", r.writing)
        .run();
  };
  while (rows.step()) {
    std::string camera = rows.text("camera_id");
    const int64_t start = rows.int64("wall_start_ms");
    const int64_t end = rows.int64("wall_end_ms");
    // A row starts a run when it begins more than the tolerance after the latest end before it
    // (the run's end is that latest end: runs are contiguous in start order).
    if (!run || run->camera != camera || start > run->end + kRunToleranceMs) {
      if (run) add(*run);
      run = Run{std::move(camera), start, end, 0, 0};
    }
    run->end = std::max(run->end, end);
    run->segments += 1;
    run->writing += rows.int64("writing");
  }
  if (run) add(*run);
}

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
    // 5: runs for the timeline, the list indexes (kSegmentRuns above).
    kSegmentRuns,
    // 6: the per-camera hash chain of recorded fragments, gaps and losses, the signed
    // checkpoints over it, and every public key that ever signed one
    // (docs/design/integrity.md). chain_entry's key is the per-camera order; the segment index
    // finds a file's entries (check, evidence export).
    // Entries outlive their footage (retention deletes segments, not their chain entries).
    R"sql(
    CREATE TABLE chain_entry (
      camera_id          TEXT NOT NULL,
      sequence           INTEGER NOT NULL,
      kind               INTEGER NOT NULL,
      segment_id         INTEGER,
      fragment_position  INTEGER,
      wall_start_ms      INTEGER NOT NULL,
      duration_90k       INTEGER NOT NULL,
      init_hash          BLOB NOT NULL,
      fragment_hash      BLOB NOT NULL,
      note               TEXT NOT NULL,
      link               BLOB NOT NULL,
      PRIMARY KEY (camera_id, sequence)
    ) WITHOUT ROWID;
    CREATE INDEX chain_entry_segment ON chain_entry (segment_id, fragment_position)
      WHERE segment_id IS NOT NULL;
    CREATE TABLE checkpoint (
      id              INTEGER PRIMARY KEY,
      camera_id       TEXT NOT NULL,
      sequence        INTEGER NOT NULL,
      head            BLOB NOT NULL,
      wall_time_ms    INTEGER NOT NULL,
      audit_head      BLOB NOT NULL,
      key_fingerprint TEXT NOT NULL,
      signature       BLOB NOT NULL,
      tsa_token       BLOB
    );
    CREATE INDEX checkpoint_camera ON checkpoint (camera_id, sequence);
    CREATE TABLE signing_key (
      fingerprint    TEXT PRIMARY KEY,
      public_key_pem TEXT NOT NULL,
      created_ms     INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // 7: evidence holds and the audit log's hash chain (kHoldsAndAuditChain above).
    kHoldsAndAuditChain,
    // 8: rights that fail closed (issue 18). A NULL camera list meant every camera; it is written "*" now, so that no list
    // can mean none. Nobody's access changes: every NULL becomes "*" (README, release notes).
    // API tokens get a scope ('full', or 'metrics': GET /metrics and nothing else) and an
    // optional expiry.
    R"sql(
    UPDATE user SET cameras = '*' WHERE cameras IS NULL;
    ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
      CHECK (scope IN ('full', 'metrics'));
    ALTER TABLE api_token ADD COLUMN expires_ms INTEGER;
    )sql",
    // 9: till transactions (issue 19; transactions/store.h). A transaction of a till with its
    // line items and, from a printer tap, its receipt lines with their arrival times; an FTS5
    // index over their text. (till_id, reference) is unique: a till posting again is answered
    // the stored row. Card numbers are masked before any of it is written (transactions/card_mask.h).
    // API tokens get the scope 'till' (post transactions for the tills listed in `tills`,
    // comma-separated, and nothing else): SQLite cannot change a CHECK, so the table is rebuilt.
    R"sql(
    CREATE TABLE till_transaction (
      id            INTEGER PRIMARY KEY,
      till_id       TEXT NOT NULL,
      reference     TEXT,  -- NULL: none (printer taps); NULLs are distinct in UNIQUE
      till_time_ms  INTEGER,  -- the till's own clock
      moment_ms     INTEGER NOT NULL,  -- on the footage's clock
      kind          TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'no_sale',
                                                  'drawer_open', 'drawer_close')),
      method        TEXT CHECK (method IN ('qr', 'card', 'cash', 'other')),
      total_minor   INTEGER,
      currency      TEXT NOT NULL DEFAULT '',
      cashier       TEXT NOT NULL DEFAULT '',
      text          TEXT NOT NULL DEFAULT '',
      source        TEXT NOT NULL CHECK (source IN ('api', 'webhook', 'printer')),
      created_ms    INTEGER NOT NULL,
      UNIQUE (till_id, reference)
    );
    CREATE INDEX till_transaction_moment ON till_transaction (moment_ms, id);
    CREATE INDEX till_transaction_till ON till_transaction (till_id, moment_ms, id);
    CREATE INDEX till_transaction_total ON till_transaction (total_minor);
    CREATE TABLE till_transaction_item (
      transaction_id INTEGER NOT NULL REFERENCES till_transaction (id) ON DELETE CASCADE,
      position      INTEGER NOT NULL,
      text          TEXT NOT NULL,
      quantity      REAL NOT NULL,
      unit_minor    INTEGER,
      PRIMARY KEY (transaction_id, position)
    ) WITHOUT ROWID;
    CREATE TABLE till_receipt_line (
      transaction_id INTEGER NOT NULL REFERENCES till_transaction (id) ON DELETE CASCADE,
      position      INTEGER NOT NULL,
      at_ms         INTEGER NOT NULL,
      text          TEXT NOT NULL,
      PRIMARY KEY (transaction_id, position)
    ) WITHOUT ROWID;
    -- rowid = till_transaction.id; body = free text, line items, receipt lines, cashier.
    CREATE VIRTUAL TABLE till_transaction_fts USING fts5 (body, tokenize = 'unicode61');
    CREATE TRIGGER till_transaction_fts_delete AFTER DELETE ON till_transaction
      BEGIN DELETE FROM till_transaction_fts WHERE rowid = old.id; END;
    CREATE TABLE api_token_new (
      id            INTEGER PRIMARY KEY,
      token_sha256  BLOB NOT NULL UNIQUE,
      user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      created_ms    INTEGER NOT NULL,
      last_used_ms  INTEGER,
      scope         TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'metrics', 'till')),
      expires_ms    INTEGER,
      tills         TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO api_token_new (id, token_sha256, user_id, name, created_ms, last_used_ms, scope,
                               expires_ms)
      SELECT id, token_sha256, user_id, name, created_ms, last_used_ms, scope, expires_ms
      FROM api_token;
    DROP TABLE api_token;
    ALTER TABLE api_token_new RENAME TO api_token;
    CREATE INDEX api_token_user ON api_token (user_id);
    )sql",
    // 10: the second factor (issue 18): a TOTP secret per user (RFC 6238; serve/totp.h), unconfirmed until
    // the user types a first code, and the newest step a code was accepted for, so that each
    // code logs in once. The secret is kept as is: the server must compute codes from it, so a
    // hash cannot do, and the file is 0640 like the rest of the catalog (docs/design/
    // security.md, "Second factor"). Recovery codes are random (80 bits) and stored as SHA-256.
    R"sql(
    CREATE TABLE user_totp (
      user_id       INTEGER PRIMARY KEY REFERENCES user (id) ON DELETE CASCADE,
      secret        BLOB NOT NULL,
      confirmed     INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
      last_step     INTEGER,  -- NULL: no code accepted yet
      created_ms    INTEGER NOT NULL
    );
    CREATE TABLE recovery_code (
      user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
      code_sha256   BLOB NOT NULL,
      PRIMARY KEY (user_id, code_sha256)
    ) WITHOUT ROWID;
    )sql",
    // 11: the transactions' text index
    // keyed by moment, so that a text search reads its newest matches first and stops at a
    // page (transactions/store.cpp, find) instead of collecting every match of the year and
    // sorting it. rowid = moment_ms * 2^20 + id mod 2^20 (ordered like (moment, id); unique
    // unless two transactions of one millisecond have ids 2^20 apart); `tx` is the id.
    R"sql(
    DROP TRIGGER till_transaction_fts_delete;
    ALTER TABLE till_transaction_fts RENAME TO till_transaction_fts_old;
    CREATE VIRTUAL TABLE till_transaction_fts USING fts5 (body, tx UNINDEXED, tokenize = 'unicode61');
    INSERT INTO till_transaction_fts (rowid, body, tx)
      SELECT t.moment_ms * 1048576 + t.id % 1048576, o.body, t.id
      FROM till_transaction t JOIN till_transaction_fts_old o ON o.rowid = t.id;
    DROP TABLE till_transaction_fts_old;
    CREATE TRIGGER till_transaction_fts_delete AFTER DELETE ON till_transaction
      BEGIN DELETE FROM till_transaction_fts WHERE rowid = old.moment_ms * 1048576 + old.id % 1048576; END;
    )sql",
    // 12: every word of the text index also qualified by its till (catalog/text_index.h), so
    // that a text search at a till reads that till's postings of its words and nothing else,
    // instead of intersecting a common word's postings with the till's (bench/transactions:
    // 140 ms at 10 M rows for a word the till never sold). vigil_till_words() is registered on
    // the connection before migrating.
    R"sql(
    DROP TRIGGER till_transaction_fts_delete;
    ALTER TABLE till_transaction_fts RENAME TO till_transaction_fts_old;
    CREATE VIRTUAL TABLE till_transaction_fts
      USING fts5 (body, till_words, tx UNINDEXED, tokenize = 'unicode61');
    INSERT INTO till_transaction_fts (rowid, body, till_words, tx)
      SELECT o.rowid, o.body, vigil_till_words(t.till_id, o.body), o.tx
      FROM till_transaction_fts_old o JOIN till_transaction t ON t.id = o.tx;
    DROP TABLE till_transaction_fts_old;
    CREATE TRIGGER till_transaction_fts_delete AFTER DELETE ON till_transaction
      BEGIN DELETE FROM till_transaction_fts WHERE rowid = old.moment_ms * 1048576 + old.id % 1048576; END;
    )sql",
    // 13: the till index carries what a till's daily summary adds up (kind, method, total), so
    // that the summary reads the index alone instead of looking up each of the till's rows in
    // the table (bench/transactions: 30 days of one till, ~40,000 rows, p50 70 ms at 10 M).
    // Same order as before, so the pages and rules that walked it walk it unchanged.
    R"sql(
    DROP INDEX till_transaction_till;
    CREATE INDEX till_transaction_till
      ON till_transaction (till_id, moment_ms, id, kind, method, total_minor);
    )sql",
    // 14: the words of the text index, for a search's last word: "croiss" is asked for as the
    // few words it starts (croissant, croissants) instead of as a prefix, which FTS5 answers by
    // merging every posting of every such word in the store before reading the newest (40-55
    // ms at 10 M rows for a word on every twentieth receipt; transactions/store.h,
    // SearchTerms). Kept by the store as it adds rows; never pruned (a word no row has any
    // more completes to nothing).
    R"sql(
    CREATE TABLE till_text_word (word TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE VIRTUAL TABLE temp.till_text_vocab USING fts5vocab(main, till_transaction_fts, 'col');
    INSERT INTO till_text_word (word)
      SELECT DISTINCT term FROM temp.till_text_vocab WHERE col = 'body';
    DROP TABLE temp.till_text_vocab;
    )sql",
    // 15: the archive tier (issue 20; docs/design/cluster.md §5). A closed segment whose file
    // went to the object store and was then deleted here keeps its row, closed and final as
    // before, with the object's key; NULL: the file is on this disk. camera_usage now counts
    // only footage on this disk, which is what max_bytes and the free-space rule are about
    // (archived footage goes by max_days). Closed local segments by start, per camera and
    // overall, for retention's byte and disk passes and for the uploader; the overall one
    // replaces segment_start, which only the disk pass read.
    R"sql(
    ALTER TABLE segment ADD COLUMN archive_key TEXT;
    DROP TRIGGER segment_usage_insert;
    DROP TRIGGER segment_usage_delete;
    DROP TRIGGER segment_usage_update;
    CREATE TRIGGER segment_usage_insert AFTER INSERT ON segment
      WHEN new.state != 'deleting' AND new.archive_key IS NULL
    BEGIN
      INSERT INTO camera_usage (camera_id, bytes, segments) VALUES (new.camera_id, new.bytes, 1)
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes,
                                              segments = segments + 1;
    END;
    CREATE TRIGGER segment_usage_delete AFTER DELETE ON segment
      WHEN old.state != 'deleting' AND old.archive_key IS NULL
    BEGIN
      UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1
        WHERE camera_id = old.camera_id;
    END;
    CREATE TRIGGER segment_usage_update
      AFTER UPDATE OF camera_id, state, bytes, archive_key ON segment
    BEGIN
      UPDATE camera_usage SET bytes = bytes - old.bytes, segments = segments - 1
        WHERE camera_id = old.camera_id AND old.state != 'deleting' AND old.archive_key IS NULL;
      INSERT INTO camera_usage (camera_id, bytes, segments)
        SELECT new.camera_id, new.bytes, 1
        WHERE new.state != 'deleting' AND new.archive_key IS NULL
        ON CONFLICT (camera_id) DO UPDATE SET bytes = bytes + excluded.bytes,
                                              segments = segments + 1;
    END;
    DROP INDEX segment_start;
    CREATE INDEX segment_local_start ON segment (wall_start_ms)
      WHERE state = 'closed' AND archive_key IS NULL;
    CREATE INDEX segment_camera_local ON segment (camera_id, wall_start_ms)
      WHERE state = 'closed' AND archive_key IS NULL;
    )sql",
};

static_assert(kPostgresBaseline - 1 + std::size(kPostgresMigrations) == std::size(kMigrations),
              "every migration exists for both engines (postgres_schema.h)");

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
    "init_bytes, fragment_index, sha256, video_codec, width, height, has_audio, close_reason, "
    "archive_key FROM segment ";

}  // namespace

const char* segment_state_name(SegmentState s) {
  switch (s) {
    case SegmentState::kWriting: return "writing";
    case SegmentState::kClosed: return "closed";
    case SegmentState::kDeleting: return "deleting";
  }
  return "?";
}

namespace {

// Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is locked"
// at once, without its busy handler, when another connection holds a shared lock (two processes
// opening a new catalog together). The mode is kept in the file, so once any of them has set
// it the others have nothing to do; until then they retry for as long as the busy timeout.
void set_wal_mode(sql::Connection& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    try {
      db.exec("PRAGMA journal_mode=WAL");
      return;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kUnavailable || std::chrono::steady_clock::now() > deadline) {
        throw;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

namespace {

// A connection to the catalog at `location`, set up for its engine.
std::unique_ptr<sql::Connection> open_connection(const std::string& location, bool writer) {
  std::unique_ptr<sql::Connection> conn;
  if (sql::is_postgres_url(location)) {
    conn = sql::open(location);
  } else {
    auto lite = std::make_unique<sql::SqliteConnection>(location);
    if (writer) {
      // WAL: readers never block the writer. synchronous=FULL: a committed row survives power
      // loss, which the crash-safety order (file fsync'd before its row) relies on.
      set_wal_mode(*lite);
      lite->exec("PRAGMA synchronous=FULL");
      lite->exec("PRAGMA foreign_keys=ON");
      register_text_index_functions(*lite);
    }
    conn = std::move(lite);
  }
  if (!writer) conn->set_read_only();
  return conn;
}

}  // namespace

Catalog::Catalog(const std::filesystem::path& location)
    : file_(location.string()), db_(open_connection(file_, true)) {
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
  if (!conn_) conn_ = open_connection(c.file_, false);
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
    total = db_->cost();
  }
  std::lock_guard lock(readers_mu_);
  total += read_cost_;
  return total;
}

int Catalog::schema_version() {
  std::lock_guard lock(mu_);
  return static_cast<int>(db_->schema_version());
}

void Catalog::migrate() {
  std::lock_guard lock(mu_);
  const int64_t want = static_cast<int64_t>(std::size(kMigrations));
  const bool postgres = db_->engine() == sql::Engine::kPostgres;
  // Up to date: no write lock taken, so a second process opening a busy catalog does not wait.
  if (db_->schema_version() == want) return;
  // Each step reads the version inside its own write transaction: another process on the same
  // catalog (`vigil user add` while the server starts; another node) may be migrating too, and a
  // version read before taking the write lock would have both run the same step ("table
  // already exists").
  for (;;) {
    sql::Transaction tx(*db_);
    const int64_t have = db_->schema_version();
    if (have > want) {
      throw Error(ErrorCode::kFailedPrecondition,
                  db_->path() + ": catalog schema version " + std::to_string(have) +
                      " is newer than this vigil understands (" + std::to_string(want) +
                      "); run a newer vigil");
    }
    if (have == want) return;  // the transaction wrote nothing; its destructor rolls it back
    int64_t next = have + 1;
    if (postgres) {
      // A new PostgreSQL catalog starts at kPostgresBaseline in one step.
      if (have == 0) next = kPostgresBaseline;
      db_->exec(kPostgresMigrations[next - kPostgresBaseline]);
    } else {
      db_->exec(kMigrations[have]);
      if (kMigrations[have] == kSegmentRuns) fill_segment_runs(*db_);
      if (kMigrations[have] == kHoldsAndAuditChain) finish_holds_and_audit_chain(*db_);
    }
    db_->set_schema_version(next);
    tx.commit();
  }
}

int64_t Catalog::begin_segment(const NewSegment& s) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare_cached(
      "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, video_codec, "
      "width, height, has_audio) VALUES (:camera, 'writing', :path, :start, :start, :codec, "
      ":width, :height, :audio) RETURNING id");
  bind_new_segment(st, s);
  return sql::inserted_id(st);
}

void Catalog::close_segment(int64_t id, const ClosedSegment& c) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare_cached(
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
  if (db_->changes() != 1) {
    throw Error(ErrorCode::kNotFound, "close segment " + std::to_string(id) + ": no such row");
  }
}

int64_t Catalog::insert_closed_segment(const NewSegment& s, const ClosedSegment& c) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, video_codec, "
      "width, height, has_audio, media_duration_90k, bytes, init_bytes, fragment_index, sha256, "
      "close_reason) VALUES (:camera, 'closed', :path, :start, :end, :codec, :width, :height, "
      ":audio, :dur, :bytes, :init, :index, :sha, :reason) RETURNING id");
  bind_new_segment(st, s);
  st.bind(":end", ms_since_epoch(c.wall_end))
      .bind(":dur", c.media_duration.count())
      .bind(":bytes", static_cast<int64_t>(c.bytes))
      .bind(":init", static_cast<int64_t>(c.init_bytes))
      .bind(":index", c.fragment_index)
      .bind(":sha", c.sha256)
      .bind(":reason", c.close_reason);
  return sql::inserted_id(st);
}

void Catalog::mark_deleting(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE segment SET state = 'deleting' WHERE id = :id");
  st.bind(":id", id).run();
}

bool Catalog::mark_deleting_as_read(const SegmentRow& row) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "UPDATE segment SET state = 'deleting' "
      "WHERE id = :id AND archive_key IS NOT DISTINCT FROM :key");
  st.bind(":id", row.id)
      .bind(":key", row.archived() ? std::optional<std::string>(row.archive_key) : std::nullopt)
      .run();
  return db_->changes() == 1;
}

void Catalog::delete_segment_row(int64_t id) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("DELETE FROM segment WHERE id = :id");
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
  if (!st.is_null("archive_key")) r.archive_key = st.text("archive_key");
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

namespace {

// The condition of the partial index a local-only read must repeat for SQLite to use it.
const char* where_closed(bool local_only) {
  return local_only ? "state = 'closed' AND archive_key IS NULL " : "state = 'closed' ";
}

}  // namespace

std::vector<SegmentRow> Catalog::oldest_closed(const std::string& camera, int limit,
                                               bool local_only) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "WHERE camera_id = :camera AND " +
                       where_closed(local_only) + "ORDER BY wall_start_ms LIMIT :limit");
  st.bind(":camera", camera).bind(":limit", int64_t{limit});
  return query_segments(st);
}

std::vector<SegmentRow> Catalog::oldest_closed_from(const std::string& camera, WallTime from,
                                                    int limit, bool local_only) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "WHERE camera_id = :camera AND " +
                       where_closed(local_only) +
                       "AND wall_start_ms >= :from ORDER BY wall_start_ms LIMIT :limit");
  st.bind(":camera", camera).bind(":from", ms_since_epoch(from)).bind(":limit", int64_t{limit});
  return query_segments(st);
}

std::vector<SegmentRow> Catalog::oldest_closed_any(int limit) {
  Reader r(*this);
  auto st = r->prepare(std::string(kSegmentColumns) + "WHERE " + where_closed(true) +
                       "ORDER BY wall_start_ms LIMIT :limit");
  st.bind(":limit", int64_t{limit});
  return query_segments(st);
}

std::vector<SegmentRow> Catalog::archive_candidates(WallTime ended_by, int limit,
                                                    std::optional<SegmentOrder> after) {
  Reader r(*this);
  // On segment_local_start (its rowid makes it (start, id)): a segment ends after it starts, so
  // none starting after `ended_by` qualifies; those that started before it and are still to end
  // are few (one per camera).
  auto st = r->prepare(std::string(kSegmentColumns) + "WHERE " + where_closed(true) +
                       "AND wall_start_ms <= :by AND wall_end_ms <= :by "
                       "AND (wall_start_ms > :from OR (wall_start_ms = :from AND id > :id)) "
                       "ORDER BY wall_start_ms, id LIMIT :limit");
  st.bind(":by", ms_since_epoch(ended_by))
      .bind(":from", after ? ms_since_epoch(after->wall_start) : INT64_MIN)
      .bind(":id", after ? after->id : INT64_MIN)
      .bind(":limit", int64_t{limit});
  return query_segments(st);
}

Catalog::Backlog Catalog::archive_backlog(WallTime ended_by) {
  Reader r(*this);
  auto st = r->prepare("SELECT COUNT(*) AS segments, COALESCE(SUM(bytes), 0) AS bytes "
                       "FROM segment WHERE " + std::string(where_closed(true)) +
                       "AND wall_start_ms <= :by AND wall_end_ms <= :by");
  st.bind(":by", ms_since_epoch(ended_by));
  st.step();
  return {st.int64("segments"), static_cast<uint64_t>(st.int64("bytes"))};
}

bool Catalog::set_archived(int64_t id, const std::string& key) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("UPDATE segment SET archive_key = :key "
                        "WHERE id = :id AND state = 'closed' AND archive_key IS NULL");
  st.bind(":key", key).bind(":id", id).run();
  return db_->changes() == 1;
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
  r->begin(sql::Connection::Mode::kRead);
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
    r->rollback();
    throw;
  }
  r->commit();
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

void Catalog::on_one_snapshot(bool write, const std::function<void(sql::Connection&)>& fn) {
  // Writing takes the writer (`vigil check --repair` runs with vigil serve stopped); reading
  // takes a reader, whose transaction is one snapshot.
  std::unique_lock<std::mutex> write_lock;
  std::optional<Reader> reader;
  sql::Connection* conn = nullptr;
  if (write) {
    write_lock = std::unique_lock(mu_);
    conn = db_.get();
  } else {
    reader.emplace(*this);
    conn = &**reader;
  }
  conn->begin(write ? sql::Connection::Mode::kWrite : sql::Connection::Mode::kRead);
  try {
    fn(*conn);
  } catch (...) {
    conn->rollback();
    throw;
  }
  conn->commit();
}

std::vector<Catalog::UsageFix> Catalog::check_usage(bool repair) {
  // What the rows say against what the triggers kept, on one snapshot.
  std::vector<UsageFix> out;
  on_one_snapshot(repair, [&](sql::Connection& conn) {
    std::map<std::string, std::pair<CameraUsage, CameraUsage>> by_camera;  // kept, counted
    auto kept = conn.prepare("SELECT camera_id, bytes, segments FROM camera_usage");
    while (kept.step()) {
      CameraUsage& u = by_camera[kept.text("camera_id")].first;
      u.bytes = static_cast<uint64_t>(kept.int64("bytes"));
      u.segments = kept.int64("segments");
    }
    auto counted = conn.prepare(
        "SELECT camera_id, SUM(bytes) AS bytes, COUNT(*) AS segments FROM segment "
        "WHERE state != 'deleting' AND archive_key IS NULL GROUP BY camera_id");
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
      conn.exec("DELETE FROM camera_usage");
      conn.exec(
          "INSERT INTO camera_usage (camera_id, bytes, segments) "
          "SELECT camera_id, SUM(bytes), COUNT(*) FROM segment WHERE state != 'deleting' "
          "AND archive_key IS NULL GROUP BY camera_id");
    }
  });
  return out;
}

namespace {

// The runs the rows not being deleted make, by VIGIL_RUNS_OF's rule, written so that both
// engines read it (named subqueries, integers rather than booleans).
const char* const kCountedRuns =
    "SELECT camera_id, MIN(wall_start_ms) AS wall_start_ms, MAX(wall_end_ms) AS wall_end_ms, "
    "COUNT(*) AS segments, SUM(writing) AS writing FROM (SELECT camera_id, wall_start_ms, "
    "wall_end_ms, writing, SUM(starts) OVER (PARTITION BY camera_id ORDER BY wall_start_ms, "
    "wall_end_ms ROWS UNBOUNDED PRECEDING) AS run FROM (SELECT camera_id, wall_start_ms, "
    "wall_end_ms, CAST(state = 'writing' AS INTEGER) AS writing, COALESCE(CAST(wall_start_ms > "
    "250 + MAX(wall_end_ms) OVER (PARTITION BY camera_id ORDER BY wall_start_ms, wall_end_ms "
    "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS INTEGER), 1) AS starts FROM segment "
    "WHERE state != 'deleting') AS marked) AS numbered GROUP BY camera_id, run";

}  // namespace

std::vector<Catalog::RunsFix> Catalog::check_runs(bool repair) {
  // The runs the triggers kept against the runs the rows make, on one snapshot.
  std::vector<RunsFix> out;
  on_one_snapshot(repair, [&](sql::Connection& conn) {
    auto st = conn.prepare(
        "WITH counted (camera_id, wall_start_ms, wall_end_ms, segments, writing) AS "
        "MATERIALIZED (" + std::string(kCountedRuns) + "), "
        "kept AS (SELECT camera_id, wall_start_ms, wall_end_ms, segments, writing "
        "         FROM segment_run), "
        "differ AS (SELECT camera_id FROM (SELECT * FROM kept EXCEPT SELECT * FROM counted) "
        "           AS only_kept UNION SELECT camera_id FROM (SELECT * FROM counted EXCEPT "
        "           SELECT * FROM kept) AS only_counted) "
        "SELECT camera_id, (SELECT COUNT(*) FROM kept WHERE kept.camera_id = differ.camera_id) "
        "AS kept, (SELECT COUNT(*) FROM counted WHERE counted.camera_id = differ.camera_id) "
        "AS counted FROM differ ORDER BY camera_id");
    while (st.step()) {
      out.push_back(RunsFix{st.text("camera_id"), st.int64("kept"), st.int64("counted")});
    }
    if (repair && !out.empty()) {
      fill_segment_runs(conn);
    }
  });
  return out;
}

std::vector<SegmentRun> Catalog::runs_between(const std::string& camera, WallTime from,
                                              WallTime to) {
  std::vector<SegmentRun> out;
  const auto read = [&](sql::Statement& st) {
    while (st.step()) {
      SegmentRun r;
      r.wall_start = wall_from_ms(st.int64("wall_start_ms"));
      if (r.wall_start >= to) break;  // runs do not overlap: the later ones start later still
      r.wall_end = wall_from_ms(st.int64("wall_end_ms"));
      r.segments = st.int64("segments");
      r.writing = st.int64("writing") > 0;
      out.push_back(r);
    }
  };
  on_one_snapshot(false, [&](sql::Connection& conn) {
    // A run being written reaches up to now, past the end its row says.
    auto growing = conn.prepare(
        "SELECT wall_start_ms, wall_end_ms, segments, writing FROM segment_run "
        "WHERE camera_id = :camera AND writing > 0 AND wall_end_ms <= :from");
    growing.bind(":camera", camera).bind(":from", ms_since_epoch(from));
    read(growing);
    auto st = conn.prepare(
        "SELECT wall_start_ms, wall_end_ms, segments, writing FROM segment_run "
        "WHERE camera_id = :camera AND wall_end_ms > :from ORDER BY wall_end_ms");
    st.bind(":camera", camera).bind(":from", ms_since_epoch(from));
    read(st);
  });
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
  auto st = db_->prepare(
      "INSERT INTO events_judged (camera_id, until_ms) VALUES (:camera, :until) "
      "ON CONFLICT (camera_id) DO UPDATE SET until_ms = excluded.until_ms");
  st.bind(":camera", camera).bind(":until", ms_since_epoch(t)).run();
}

void Catalog::add_gap(const std::string& camera, WallTime start, WallTime end,
                      const std::string& reason) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
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
  // A gap overlapping the window began at most the camera's longest gap before it
  // (gap_longest, kept by a trigger: migration 5), so the (camera, start) index is read from
  // there and not from the camera's first gap.
  auto st = r->prepare(
      "SELECT id, camera_id, wall_start_ms, wall_end_ms, reason FROM gap "
      "WHERE camera_id = :camera AND wall_start_ms < :to AND wall_end_ms > :from "
      "AND wall_start_ms >= :from - COALESCE((SELECT ms FROM gap_longest "
      "                                       WHERE camera_id = :camera), 0) "
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
