// The catalog: what footage exists, where, and what is missing. SQLite in WAL mode, one file
// (<data>/vigil.db). Thread-safe: one connection behind a mutex (writes are rare — a few per
// segment — so contention is negligible; reads for the timeline come later through their own
// connection). Rows follow the crash-safety procedure in docs/design/storage.md:
//   writing  — a segment file is being written; recovery cuts it back and closes it;
//   closed   — the file is complete, fsync'd, hashed; every field is final;
//   deleting — retention decided to delete it; the row goes after the file does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sqlite.h"
#include "core/time.h"

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

class Catalog {
 public:
  // Opens (creating if needed) and migrates the catalog. Throws Error naming the file.
  explicit Catalog(const std::filesystem::path& db_file);

  int schema_version();

  int64_t begin_segment(const NewSegment& s);
  void close_segment(int64_t id, const ClosedSegment& c);
  void mark_deleting(int64_t id);
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
  // Closed segments of a camera, oldest first, at most `limit`.
  std::vector<SegmentRow> oldest_closed(const std::string& camera, int limit);
  // Closed segments of all cameras, oldest first, at most `limit`.
  std::vector<SegmentRow> oldest_closed_any(int limit);
  std::vector<std::string> cameras_with_segments();
  CameraUsage usage(const std::string& camera);
  uint64_t total_bytes();
  // End of the newest footage of a camera (any state but deleting).
  std::optional<WallTime> last_wall_end(const std::string& camera);

  void add_gap(const std::string& camera, WallTime start, WallTime end, const std::string& reason);
  std::vector<GapRow> gaps_between(const std::string& camera, WallTime from, WallTime to);

 private:
  void migrate();
  std::vector<SegmentRow> query_segments(sql::Statement& st);

  std::mutex mu_;
  sql::Connection db_;
};

}  // namespace vigil
