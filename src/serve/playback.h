// The footage routes of the API: the recordings timeline, HLS playback from the catalog (the
// playlist and the segment files served by byte range), and clip export. They sit beside Api
// (api.h), which registers them and runs them through the same authentication, authorization
// and error mapping; this class adds only what needs a segment row: a segment's camera right,
// and paths that come from the catalog, never from the request.
// Thread-safe: handlers run on the server's pool, many at once. The catalog connection is
// opened on first use (its own, so playback never waits on the recorder's connection). The file
// being written comes from the recorders' OpenSegments registry, not the catalog.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "archive/object_reader.h"
#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_store.h"
#include "integrity/bundle.h"
#include "record/fragment_index.h"
#include "record/open_segments.h"
#include "serve/export.h"
#include "serve/preview.h"
#include "serve/router.h"
#include "serve/snapshot.h"

namespace vigil {

class Playback {
 public:
  // All must outlive the Playback. Exports go to <data_dir>/exports/; the export queue's
  // failures are reported in `components` (null: only logged).
  Playback(const ConfigStore& configs, AccountStore& accounts, const Clock& clock,
           ComponentRegistry* components = nullptr);
  ~Playback();

  // Adds the footage routes to `router`.
  void add_routes(Router& router);
  // The files being written (must outlive the Playback): playlists then list their synced
  // fragments and the media route serves those bytes. Without it only closed files play. Call
  // before the server starts.
  void set_open_segments(const OpenSegments& open) { open_segments_ = &open; }

  // What an evidence bundle carries beside its footage: files to attach and a few words for the
  // bundle's audit row ("" when nothing).
  struct EvidenceExtras {
    std::vector<BundleAttachment> attachments;
    std::string note;
  };
  // Reads (and audits, as the caller) what a bundle of `camera` (a configured camera id) over
  // [start, end) carries beside the footage: the transactions of the tills that watch it.
  using EvidenceExtrasFn =
      std::function<EvidenceExtras(Call&, const std::string& camera, WallTime start, WallTime end)>;
  // Set before the server starts (TransactionsApi does); without it bundles hold footage only.
  void set_evidence_extras(EvidenceExtrasFn fn) { evidence_extras_ = std::move(fn); }

  http::Response timeline(Call& call);
  http::Response playlist(Call& call);
  http::Response media(Call& call);
  // GET /api/cameras/{id}/preview?t=MS[&stream=]: a thumbnail of the keyframe nearest t
  // (preview.h). Audited once per playback session and day, not per hover.
  http::Response preview(Call& call);
  http::Response create_export(Call& call);
  http::Response export_status(Call& call);
  http::Response export_file(Call& call);
  // Queues an export of `camera` (a catalog id: sub_stream_id() for a sub stream) over
  // [start, end] for the caller (who must be allowed that
  // camera: the caller checks), audits it ("export", with `detail` added) and answers 202 with
  // the job. `evidence`: an evidence bundle (a ZIP that proves itself) instead of an MP4. Used
  // by create_export, event clips (events_api.h) and transaction clips (transactions_api.h,
  // whose MP4 carries the receipt as `subtitles`).
  http::Response export_range(Call& call, const std::string& camera, WallTime start, WallTime end,
                              const std::string& detail, bool evidence = false,
                              std::vector<SubtitleCue> subtitles = {});
  // Queues an evidence bundle of `camera` over [start, end) for the caller (who must be allowed
  // that camera) and audits it ("evidence_export"; the audit row is in the bundle). Returns the
  // queued job as the API shows it. Also for holds (holds_api.h), one bundle per camera.
  nlohmann::json queue_evidence(Call& call, const std::string& camera, WallTime start,
                                WallTime end, const std::string& detail);
  // The still picture of `camera`'s footage at `at` (recorded_still.h), the file being written
  // included; nullopt when nothing was recorded then. The caller checks the right to see the
  // camera and audits. Throws Error (kDataLoss) when the footage is there but unreadable.
  std::optional<JpegImage> still_at(const std::string& camera, WallTime at);

 private:
  Catalog& catalog();
  // The store archived footage (the object `key`) is read from; kFailedPrecondition without
  // [archive].
  archive::ObjectReader& archived_store(const std::string& key);
  // An archived segment's init part (its first `init_bytes`) and fragment `f`'s bytes, each read
  // by range; kDataLoss when the object is shorter.
  std::pair<std::string, std::string> archived_parts(const std::string& key, uint64_t init_bytes,
                                                     const Fragment& f);
  EventStore& events();
  ExportQueue& exports();
  // [exports] as the queue applies it, from the current configuration.
  ExportBounds export_bounds();
  // Queues `job` within the bounds and the free space; throws HttpFail (429/507 naming the
  // limit) when they do not allow it. Returns the id.
  int64_t submit_export(ExportJob job);
  // The export named by the path, if the caller may see it; else throws kNotFound.
  std::optional<ExportJob> visible_job(const Call& call);
  // Appends an audit row for the caller; returns it as written (with its id).
  AuditEntry audit(const Call& call, const std::string& action, const std::string& camera,
                   WallTime start, WallTime end, const std::string& detail);
  // Whether this playlist request is to be audited: once per playback session, that is per
  // login session (or token) and camera while its requests come less than 5 minutes apart,
  // and then again only for a window that reaches outside what the session's rows cover.
  // hls.js reloads an EVENT playlist every target duration, and the UI asks a new playlist at
  // every jump on the timeline: those are the same viewing, not new rows.
  bool audit_playlist(const Principal& who, const std::string& camera, WallTime start,
                      WallTime end);

  const ConfigStore& configs_;
  const std::filesystem::path data_dir_;  // fixed while vigil runs
  const std::string catalog_location_;    // likewise
  AccountStore& accounts_;
  const Clock& clock_;
  ComponentRegistry* const components_;
  std::mutex mu_;
  std::unique_ptr<Catalog> catalog_;
  // Reads archived segments by range; made at start with [archive] (fixed while vigil runs).
  std::unique_ptr<archive::ObjectReader> archive_;
  std::unique_ptr<EventStore> events_;
  std::unique_ptr<ExportQueue> exports_;
  const OpenSegments* open_segments_ = nullptr;
  EvidenceExtrasFn evidence_extras_;
  // Timeline previews already made: a thumbnail is a few kB, so a few hundred cost ~2 MB.
  PreviewCache previews_{512};
  // Playback sessions, by (session or token, camera): the windows their rows cover (a window
  // that reached the present when audited covers what is recorded while the session lasts) and
  // when a playlist was last asked for.
  struct PlaybackSession {
    std::vector<std::pair<WallTime, WallTime>> audited;
    WallTime last_request;
  };
  std::mutex sessions_mu_;
  std::map<std::pair<std::string, std::string>, PlaybackSession> playback_sessions_;
};

}  // namespace vigil
