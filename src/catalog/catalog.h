// The catalog: what footage exists, where, and what is missing. SQLite in WAL mode, one file
// (<data>/vigil.db). Thread-safe. Writes go through one connection behind a mutex (a few per
// segment); reads go through reader connections of their own (WAL lets them run beside the
// writer on a snapshot), so a status or API read never holds the lock a recorder needs.
// Every periodic or per-request read is O(log n) in the size of the archive: per-camera usage
// is kept by triggers in the transaction that changes a segment row (migration 4), oldest and
// newest footage come from indexes. docs/design/storage.md, "A year costs what a day costs".
// Rows follow the crash-safety procedure in docs/design/storage.md:
//   writing  — a segment file is being written; recovery cuts it back and closes it;
//   closed   — the file is complete, fsync'd, hashed; every field is final;
//   deleting — retention decided to delete it; the row goes after the file does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql.h"
#include "core/time.h"
#include "integrity/chain.h"

namespace vigil {

enum class SegmentState { kWriting, kClosed, kDeleting };
const char* segment_state_name(SegmentState s);

struct SegmentRow {
  int64_t id = 0;
  std::string camera_id;
  SegmentState state = SegmentState::kWriting;
  std::string path;  // relative to the data directory
  WallTime wall_start;
  WallTime wall_end;
  Ticks90k media_duration{0};
  uint64_t bytes = 0;
  uint64_t init_bytes = 0;               // ftyp+moov: the part HLS calls EXT-X-MAP
  std::vector<uint8_t> fragment_index;   // see record/fragment_index.h
  std::vector<uint8_t> sha256;           // empty until closed
  std::string video_codec;               // "h264" / "hevc"
  int width = 0;
  int height = 0;
  bool has_audio = false;
  std::string close_reason;              // why the file ended: "duration", "codec change", ...
  // Empty: the file is on this disk at `path`. Otherwise the key of the object that holds the
  // same bytes in the archive (archive/archiver.h); the local file is gone or about to go.
  std::string archive_key;
  bool archived() const { return !archive_key.empty(); }
};

struct NewSegment {
  std::string camera_id;
  std::string path;
  WallTime wall_start;
  std::string video_codec;
  int width = 0;
  int height = 0;
  bool has_audio = false;
};

struct ClosedSegment {
  WallTime wall_end;
  Ticks90k media_duration{0};
  uint64_t bytes = 0;
  uint64_t init_bytes = 0;
  std::vector<uint8_t> fragment_index;
  std::vector<uint8_t> sha256;
  std::string close_reason;
};

// A segment row without its blobs: what the timeline needs, cheap to read by the thousand.
struct SegmentSpan {
  int64_t id = 0;
  SegmentState state = SegmentState::kWriting;
  WallTime wall_start;
  WallTime wall_end;  // == wall_start while writing
};

// A run: a camera's stretch of back-to-back segments (migration 5), kept by triggers as rows
// change. Segments being deleted are in none.
struct SegmentRun {
  WallTime wall_start;
  WallTime wall_end;  // the latest end of its segments; a writing one counts as its start
  int64_t segments = 0;
  bool writing = false;  // holds a segment being written, which reaches up to now
};

// Segments whose start is at most this much after the latest end before them belong to the
// same run: the timeline's merge rule (serve/timeline.h, kTimelineMergeTolerance), written as
// the literal 250 in the catalog's SQL.
inline constexpr int64_t kRunToleranceMs = 250;

struct GapRow {
  int64_t id = 0;
  std::string camera_id;
  WallTime wall_start;
  WallTime wall_end;
  std::string reason;
};

struct CameraUsage {
  uint64_t bytes = 0;
  int64_t segments = 0;
  std::optional<WallTime> oldest_start;
  std::optional<WallTime> newest_end;
};

// One entry of a camera's hash chain as stored (table chain_entry; docs/design/integrity.md).
struct ChainRow {
  ChainEntry entry;
  int64_t segment_id = 0;          // a fragment's segment row; 0 for a gap or a loss
  int64_t fragment_position = -1;  // a fragment's place in its segment's fragment index
  Sha256 link{};
};
// The row that extends a chain whose last row is `head` (none: a new chain) with `e`: its
// sequence and link filled in.
ChainRow next_chain_row(const std::optional<ChainRow>& head, ChainEntry e, int64_t segment_id = 0,
                        int64_t fragment_position = -1);

struct CheckpointRow {
  int64_t id = 0;  // the row's id, set when read (the order checkpoints were stored in)
  Checkpoint checkpoint;
  std::string key_fingerprint;
  Signature signature{};
  // RFC 3161 TimeStampResp (DER) over checkpoint_message(checkpoint); none until the tsa
  // stamper got one, or ever without [integrity] tsa_url (docs/design/integrity.md).
  std::optional<Bytes> tsa_token;
};

struct SigningKeyRow {
  std::string fingerprint;
  std::string public_key_pem;
  WallTime created;
};

class Catalog {
 public:
  // Opens (creating if needed) and migrates the catalog: a SQLite file, or a PostgreSQL
  // database named by a postgresql:// URL (catalog/postgres.h; issue 20, not yet selectable in
  // the configuration). Throws Error naming the file or the URL (without its password).
  explicit Catalog(const std::filesystem::path& location);

  sql::Engine engine() const { return db_->engine(); }

  int schema_version();

  int64_t begin_segment(const NewSegment& s);
  void close_segment(int64_t id, const ClosedSegment& c);
  void mark_deleting(int64_t id);
  // Marks `row` only if it is still where `row` says: not archived since it was read (or
  // archived as row.archive_key). False, nothing marked, when the uploader archived it meanwhile
  // (archive/archiver.h): retention then judges it again as it is now.
  bool mark_deleting_as_read(const SegmentRow& row);
  void delete_segment_row(int64_t id);
  // Inserts an already-complete segment (adopted by `vigil check --repair`).
  int64_t insert_closed_segment(const NewSegment& s, const ClosedSegment& c);

  std::optional<SegmentRow> segment(int64_t id);
  std::vector<SegmentRow> segments_in_state(SegmentState s);
  // Segments overlapping [from, to), oldest first; all states.
  std::vector<SegmentRow> segments_between(const std::string& camera, WallTime from, WallTime to);
  // The same window as segments_between without the blobs (the timeline's query).
  std::vector<SegmentSpan> spans_between(const std::string& camera, WallTime from, WallTime to);
  std::vector<SegmentRow> all_segments();
  // Every segment row, ordered by camera and start, handed one at a time to `fn`, without
  // loading them all: a year of 32 cameras is millions of rows. For `vigil check`. The rows are
  // a snapshot taken at the start; `fn` may read and write the catalog (other connections).
  void for_each_segment(const std::function<void(const SegmentRow&)>& fn);
  // Whether a row names this path (relative to the data directory); by the unique index.
  bool has_segment_path(const std::string& path);
  // Closed segments of a camera, oldest first, at most `limit`; `local_only`: only those whose
  // file is on this disk (not archived), on an index of their own.
  std::vector<SegmentRow> oldest_closed(const std::string& camera, int limit,
                                        bool local_only = false);
  // The same, starting at or after `from` (retention steps over held footage with it).
  std::vector<SegmentRow> oldest_closed_from(const std::string& camera, WallTime from, int limit,
                                             bool local_only = false);
  // Closed segments of all cameras whose file is on this disk, oldest first, at most `limit`.
  std::vector<SegmentRow> oldest_closed_any(int limit);

  // The archive tier (archive/archiver.h). Closed segments on this disk that ended at or
  // before `ended_by`, oldest first (by start, then id), at most `limit`; after `after` (the
  // last of the previous page).
  struct SegmentOrder {
    WallTime wall_start;
    int64_t id = 0;
  };
  std::vector<SegmentRow> archive_candidates(WallTime ended_by, int limit,
                                             std::optional<SegmentOrder> after = std::nullopt);
  // How many of them there are, and their bytes: what waits for the archive. O(waiting).
  struct Backlog {
    int64_t segments = 0;
    uint64_t bytes = 0;
  };
  Backlog archive_backlog(WallTime ended_by);
  // Records that segment `id` is stored in the archive as `key`, in the one statement that
  // also takes its bytes out of camera_usage. False (nothing changed) when the row is no longer
  // a closed local segment: retention marked it for deletion meanwhile.
  bool set_archived(int64_t id, const std::string& key);
  // Cameras with rows in any state; a skip scan over a camera index, O(cameras log n).
  std::vector<std::string> cameras_with_segments();
  // Rows not being deleted whose file is on this disk (archived ones are not): their bytes and
  // count from camera_usage (kept by triggers); the oldest start and newest end of all footage,
  // archived included, from indexes. O(log n).
  CameraUsage usage(const std::string& camera);
  // Bytes of every camera's rows not being deleted, on this disk.
  uint64_t total_bytes();
  // Counts every camera's usage from the segment rows (O(n): for `vigil check`) and returns the
  // cameras whose kept figures (camera_usage) differ, with what they said and what the rows
  // say; `repair` then rebuilds camera_usage from the rows (only bytes and segments are kept:
  // oldest and newest are always read from the rows, and are left unset here).
  struct UsageFix {
    std::string camera_id;
    CameraUsage was;
    CameraUsage now;
  };
  std::vector<UsageFix> check_usage(bool repair);
  // Runs overlapping [from, to), oldest first: O(runs in the window), read on the camera's
  // (camera, end) index. A writing run counts as reaching up to now.
  std::vector<SegmentRun> runs_between(const std::string& camera, WallTime from, WallTime to);
  // Compares segment_run with the runs the segment rows make (O(n): for `vigil check`) and
  // returns the cameras whose runs differ, with how many runs each side has; `repair` then
  // rebuilds segment_run from the rows.
  struct RunsFix {
    std::string camera_id;
    int64_t kept = 0;     // runs in segment_run
    int64_t counted = 0;  // runs the rows make
  };
  std::vector<RunsFix> check_runs(bool repair);
  // End of the newest footage of a camera (any state but deleting).
  std::optional<WallTime> last_wall_end(const std::string& camera);

  void add_gap(const std::string& camera, WallTime start, WallTime end, const std::string& reason);
  std::vector<GapRow> gaps_between(const std::string& camera, WallTime from, WallTime to);

  // Retention of cameras recorded in mode "events": the closed segments that ended before this
  // time have been judged already (kept for an event, or deleted), so a pass looks only at what
  // came after. nullopt: never judged.
  std::optional<WallTime> events_judged_until(const std::string& camera);
  void set_events_judged_until(const std::string& camera, WallTime t);

  // The hash chain (catalog/chain_rows.cpp). Rows are appended by the camera's recorder (or
  // by recovery before recorders start), never changed.
  void append_chain(const ChainRow& row);
  std::optional<ChainRow> chain_head(const std::string& camera);
  // A camera's rows in sequence order, one at a time (a year is ~16 million rows per camera).
  void for_each_chain_row(const std::string& camera, const std::function<void(const ChainRow&)>& fn);
  std::vector<ChainRow> chain_rows_of_segment(int64_t segment_id);
  // A camera's rows with sequence first..last (inclusive), in order; on the primary key.
  std::vector<ChainRow> chain_rows_between(const std::string& camera, uint64_t first,
                                           uint64_t last);
  std::vector<std::string> chain_cameras();
  void add_checkpoint(const CheckpointRow& c);
  std::vector<CheckpointRow> checkpoints(const std::string& camera);
  // The tsa stamper's queue (app/tsa_stamper.h): checkpoints of every camera without a token
  // and with an id above `after_id`, oldest first, at most `limit`.
  std::vector<CheckpointRow> checkpoints_without_token(int64_t after_id, size_t limit);
  // The highest checkpoint id so far (0: none).
  int64_t last_checkpoint_id();
  // Where the tsa stamper's queue starts (an `after_id` for checkpoints_without_token): just
  // before the oldest of the newest `limit` checkpoints that was made at or after `since`;
  // last_checkpoint_id() when none was. Reads at most `limit` rows, newest first on the
  // primary key (checkpoints are stored in time order, so no index on time is needed).
  int64_t checkpoint_backlog_start(WallTime since, int64_t limit);
  // Stores the token a TSA granted for checkpoint `id`; a row's only change ever.
  void set_checkpoint_tsa_token(int64_t id, const Bytes& token);
  // The newest checkpoint with a sequence below `sequence`, and the oldest at or after it; on
  // the (camera, sequence) index: what an evidence export needs around its range.
  std::optional<CheckpointRow> checkpoint_before(const std::string& camera, uint64_t sequence);
  std::optional<CheckpointRow> checkpoint_at_or_after(const std::string& camera,
                                                      uint64_t sequence);
  // Public keys that signed checkpoints; adding one already there does nothing.
  void add_signing_key(const SigningKeyRow& k);
  std::vector<SigningKeyRow> signing_keys();

  // What every statement run so far cost SQLite, summed over the writer and reader connections
  // (sql.h; nothing on PostgreSQL). Tests use it to prove that a read does not grow with the archive.
  sql::StatementCost cost();

 private:
  // A reader connection lent for one read and given back to the pool when it goes.
  class Reader {
   public:
    explicit Reader(Catalog& c);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    sql::Connection& operator*() { return *conn_; }
    sql::Connection* operator->() { return conn_.get(); }

   private:
    Catalog& catalog_;
    std::unique_ptr<sql::Connection> conn_;
    sql::StatementCost before_;
  };

  void migrate();
  // Runs `fn` in one transaction (one snapshot): on a reader, or on the writer when `write`.
  void on_one_snapshot(bool write, const std::function<void(sql::Connection&)>& fn);
  static std::vector<SegmentRow> query_segments(sql::Statement& st);

  const std::string file_;  // the file or URL
  std::mutex mu_;  // the writer connection
  std::unique_ptr<sql::Connection> db_;
  std::mutex readers_mu_;  // guards idle_readers_ and read_cost_
  std::vector<std::unique_ptr<sql::Connection>> idle_readers_;
  sql::StatementCost read_cost_;
};

}  // namespace vigil
