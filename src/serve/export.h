// Clip export: the recorded segment files of a camera over [start, end] remuxed (libavformat, no
// transcoding) into one ordinary MP4 with its index in front (+faststart), so that any player,
// a browser included, opens it while it downloads. The clip starts at the keyframe at or before
// `start` (a GOP cannot be cut without decoding), so it may begin up to one GOP early.
// An evidence export writes a bundle instead (record/evidence_export.h says what it holds).
// ExportQueue runs exports one at a time on a thread of its own, so a long remux never holds an
// HTTP handler thread; jobs live in memory (docs/design/playback.md says why that is enough).
// That thread ("export") is supervised (core/supervision.h): an export that fails, however, is
// a failed job; anything else that escapes marks the "export" component failed and the queue
// goes on after a backoff.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/supervision.h"
#include "core/time.h"
#include "integrity/bundle.h"

namespace vigil {

// A stretch of one segment file to copy, in the file's media time (0 = its first frame).
struct ExportPiece {
  std::filesystem::path file;
  WallTime wall_start;  // of the file's media time 0
  Ticks90k from{0};     // start of the fragment (keyframe) at or before the wanted start
  Ticks90k to{0};       // packets at or after this are left out
  // Set when the segment is in the archive (file is then only its former path): the queue
  // fetches the object before the export runs (ExportQueue::set_archive_fetch).
  std::string archive_key;
  uint64_t bytes = 0;  // the file's size, from the catalog
};

// The pieces of `camera`'s closed segment files that cover [start, end], oldest first; each
// starts at the keyframe at or before `start`. Empty when nothing closed lies in the range.
std::vector<ExportPiece> export_pieces(Catalog& catalog, const std::filesystem::path& data_dir,
                                       const std::string& camera, WallTime start, WallTime end);

// A caption of the clip's subtitle track, on the footage's wall clock (a transaction's receipt:
// transactions_api.h). Shown from `from` until `to`.
struct SubtitleCue {
  WallTime from;
  WallTime to;
  std::string text;  // UTF-8, lines separated by '\n'
};

struct RemuxResult {
  Ticks90k duration{0};  // of the written clip's video
  int files = 0;         // pieces copied
  std::string note;      // why fewer pieces than asked were copied (codec change), else ""
};

// Copies `pieces` (oldest first) into one MP4 at `out` (written to out + ".partial" and renamed
// when complete). Pieces follow one another without a pause: a gap between them is left out of
// the clip. A piece whose codec parameters differ from the first ends the clip there (an MP4
// track has one set), and the note says so. With `subtitles` (sorted by `from`), the MP4 also
// has a mov_text track (3GPP TS 26.245 timed text, which players show as captions): each cue at
// its wall time mapped into the clip (a cue in a gap starts with the next piece; one after the
// clip is left out). The video and audio packets are copied as they are. Throws Error with the
// file named on failure.
RemuxResult remux_to_mp4(const std::vector<ExportPiece>& pieces, const std::filesystem::path& out,
                         const std::vector<SubtitleCue>& subtitles = {});

struct ExportJob {
  int64_t id = 0;
  std::string camera_id;
  std::string user_name;  // who asked: only they (or an admin) may see it
  WallTime start;         // as asked
  WallTime end;
  WallTime clip_start;  // the keyframe the clip starts at
  enum class State { kQueued, kRunning, kDone, kFailed } state = State::kQueued;
  std::string error;  // when failed: for people
  RemuxResult result;
  uint64_t bytes = 0;
  std::filesystem::path file;  // absolute, under <data>/exports/
  SteadyTime finished{};       // when it became done or failed
  std::vector<ExportPiece> pieces;
  // The most it may write: the size of its source files. Counted against max_stored_bytes from
  // the moment it is queued until it is done (then its real size counts) or failed.
  uint64_t estimate = 0;
  // Set for an evidence bundle (integrity/bundle.h: the original fragments, chain and
  // checkpoints in a ZIP) instead of a remuxed MP4; `pieces` is empty then and `result` is
  // filled when the job is queued (the note says why the bundle ends early, if it does).
  std::shared_ptr<const BundleInput> evidence;
  // Captions for the MP4 (a transaction's receipt); none: no subtitle track.
  std::vector<SubtitleCue> subtitles;
};

const char* export_state_name(ExportJob::State s);

// The bounds of an export ([exports] in config.h, resolved). The defaults bound nothing.
struct ExportBounds {
  int max_running = INT32_MAX;           // queued or running, all users
  int max_running_per_user = INT32_MAX;  // queued or running, one user
  int max_stored_per_user = INT32_MAX;   // done and kept, one user
  uint64_t max_stored_bytes = UINT64_MAX;  // stored + running estimates, all users
  // Retention's min_free_space: exports may use max_stored_bytes of it, never more, so an export
  // is refused when it would leave less than min_free_bytes - max_stored_bytes free.
  uint64_t min_free_bytes = 0;
};

// Why an export was not queued: the HTTP status (429 for a count, 507 for bytes or disk
// space), the configuration key of the limit, and a sentence for people naming it.
struct ExportRefused {
  int status = 0;
  std::string limit;
  std::string detail;
};

class ExportQueue {
 public:
  // Finished exports (and their files) are kept this long, then removed at the next submit,
  // so that forgotten clips do not fill the disk that retention manages for footage.
  static constexpr std::chrono::hours kKeep{24};

  // Exports go to `dir` (created; clips left there by an earlier run are removed: jobs are
  // not persisted, so no one could fetch them). Starts the worker thread, whose failures are
  // reported in `components` (null: only logged).
  ExportQueue(std::filesystem::path dir, const Clock& clock,
              ComponentRegistry* components = nullptr);
  ~ExportQueue();  // finishes the running export, drops queued ones
  ExportQueue(const ExportQueue&) = delete;
  ExportQueue& operator=(const ExportQueue&) = delete;

  // Why `job` (its user_name and estimate) may not be queued now, or nullopt. `free_bytes`: free
  // on the exports' file system now. Expired exports are removed first.
  std::optional<ExportRefused> refusal(const ExportJob& job, const ExportBounds& bounds,
                                       uint64_t free_bytes);
  // Queues `job` (id and file are assigned here) when refusal() finds nothing, judged under the
  // same lock (two requests at once cannot both take the last place); the id, or why not.
  std::variant<int64_t, ExportRefused> submit(ExportJob job, const ExportBounds& bounds = {},
                                              uint64_t free_bytes = UINT64_MAX);
  std::optional<ExportJob> job(int64_t id);

  // Copies the archived object `key` into the local file `to` (archive/object_reader.h). With
  // it, exports of archived footage fetch the segments they need into the exports directory
  // first (counted like any export there, removed when the job ends); without it they fail
  // saying so. Call before the first submit.
  using ArchiveFetchFn = std::function<void(const std::string& key, const std::filesystem::path& to)>;
  void set_archive_fetch(ArchiveFetchFn fn) { fetch_ = std::move(fn); }

 private:
  // Points the job's archived pieces and bundle parts at local copies fetched now; returns
  // the copies (to remove when the job ends).
  std::vector<std::filesystem::path> fetch_archived(ExportJob& job);
  void run();
  void expire_locked();
  std::optional<ExportRefused> refusal_locked(const ExportJob& job, const ExportBounds& bounds,
                                              uint64_t free_bytes) const;

  const std::filesystem::path dir_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, ExportJob> jobs_;
  std::deque<int64_t> queue_;
  int64_t next_id_ = 1;
  bool stopping_ = false;
  ArchiveFetchFn fetch_;
  SupervisedThread worker_;  // last: starts after everything it uses
};

}  // namespace vigil
