#include "serve/playback.h"

#include "archive/archiver.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>
#include <utility>

#include "core/error.h"
#include "integrity/key_store.h"
#include "record/evidence_export.h"
#include "serve/api_request.h"
#include "serve/playlist.h"
#include "serve/recorded_still.h"
#include "serve/timeline.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

// Windows a request may ask for. A timeline is a few hundred bytes a day; a playlist lists
// every GOP (~100 bytes per 2 s); an export is one job's worth of copying (see playback.md).
constexpr WallDuration kMaxTimelineWindow = std::chrono::hours(24 * 400);
constexpr WallDuration kMaxPlaylistWindow = std::chrono::hours(24);
constexpr WallDuration kMaxExportWindow = std::chrono::minutes(30);

constexpr int64_t kMaxMs = int64_t{1} << 52;

int64_t parse_ms(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 16 || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + " must be UTC milliseconds since 1970 (decimal digits)");
  }
  return std::stoll(s);
}

struct Window {
  WallTime start;
  WallTime end;
};

Window check_window(int64_t start, int64_t end, WallDuration max, const char* what) {
  if (start < 0 || end > kMaxMs || end <= start) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": end must be after start");
  }
  if (WallDuration(end - start) > max) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": at most " +
                    std::to_string(std::chrono::duration_cast<std::chrono::minutes>(max).count()) +
                    " minutes at once");
  }
  return {wall_from_ms(start), wall_from_ms(end)};
}

// The catalog id of the stream a request names ("main", the default, or "sub": the camera's
// recorded sub stream, storage.md "Streams"). The camera's rights cover both.
std::string stream_id(const std::string& camera, const std::string& stream) {
  if (stream.empty() || stream == "main") return camera;
  if (stream == "sub") return sub_stream_id(camera);
  throw Error(ErrorCode::kInvalidArgument, "stream must be \"main\" or \"sub\"");
}

std::string query_stream_id(const Call& call, const std::string& camera) {
  const auto it = call.query.find("stream");
  return stream_id(camera, it == call.query.end() ? "" : it->second);
}

// " (sub stream)" for a sub stream's catalog id: audit rows name the camera and say which.
std::string stream_note(const std::string& catalog_id) {
  return catalog_id == camera_of_stream(catalog_id) ? "" : " (sub stream)";
}

Window query_window(const Call& call, WallDuration max, const char* what) {
  for (const auto& [k, v] : call.query) {
    if (k != "start" && k != "end" && k != "stream") {
      throw Error(ErrorCode::kInvalidArgument, "unknown query parameter " + k);
    }
  }
  auto s = call.query.find("start");
  auto e = call.query.find("end");
  if (s == call.query.end() || e == call.query.end()) {
    throw Error(ErrorCode::kInvalidArgument, "query start and end (UTC ms) are required");
  }
  return check_window(parse_ms(s->second, "start"), parse_ms(e->second, "end"), max, what);
}

json range_json(WallTime start, WallTime end) {
  return {{"start_ms", ms_since_epoch(start)},
          {"end_ms", ms_since_epoch(end)},
          {"start", format_iso8601(start)},
          {"end", format_iso8601(end)}};
}

// The most an export of `pieces` may write: the size of their files (a clip is a remux of at
// most those bytes; a bundle holds at most the same fragments).
uint64_t files_bytes(const std::vector<ExportPiece>& pieces) {
  std::set<std::filesystem::path> seen;
  uint64_t n = 0;
  for (const auto& p : pieces) {
    if (!seen.insert(p.file).second) continue;
    if (!p.archive_key.empty()) {
      n += p.bytes;  // fetched into the exports directory first
      continue;
    }
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(p.file, ec);
    if (!ec) n += size;
  }
  return n;
}

uint64_t free_space(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto space = std::filesystem::space(dir, ec);
  if (ec) throw Error(ErrorCode::kInternal, "free space of " + dir.string() + ": " + ec.message());
  return space.available;
}

HttpFail refused(const ExportRefused& why) {
  HttpFail f{why.status, why.detail};
  if (why.status == 429) f.headers.emplace_back("Retry-After", "60");
  return f;
}

std::string window_text(const Window& w) {
  return format_iso8601(w.start) + " to " + format_iso8601(w.end);
}

// An open file descriptor, closed with the object.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens `file` (a path from the catalog, never from the request) to read parts of it.
Fd open_footage(const std::filesystem::path& file) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f.fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(ErrorCode::kNotFound, "the file is gone (retention deleted it)");
    throw Error(ErrorCode::kInternal, "open " + file.string() + ": " + errno_string(err));
  }
  return f;
}

// `count` bytes of `f` (the open `file`) from `first`.
std::string read_exactly(const Fd& f, const std::filesystem::path& file, uint64_t first,
                         uint64_t count) {
  std::string out(count, '\0');
  uint64_t done = 0;
  while (done < count) {
    const ssize_t n =
        ::pread(f.fd, out.data() + done, count - done, static_cast<off_t>(first + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ErrorCode::kInternal, "read " + file.string() + ": " + errno_string(errno));
    if (n == 0)
      throw Error(ErrorCode::kDataLoss, "read " + file.string() + ": shorter than it was");
    done += static_cast<uint64_t>(n);
  }
  return out;
}

// The answer to a request for a resource of `size` bytes, by its Range: the status (200, 206,
// or 416 with its body) and headers, and which bytes to send (`count` 0 for a 416).
struct RangedAnswer {
  Response response;
  uint64_t first = 0;
  uint64_t count = 0;
};
RangedAnswer ranged_answer(const http::Request& req, uint64_t size,
                           const std::string& content_type) {
  const ByteRange range = parse_byte_range(req.header("range"), size);
  RangedAnswer a;
  Response& r = a.response;
  r.content_type = content_type;
  r.with_header("Accept-Ranges", "bytes");
  if (range.kind == ByteRange::Kind::kUnsatisfiable) {
    r = Response::json(
        416, {{"error", "range_not_satisfiable"},
              {"detail", "Range \"" + req.header("range") + "\" does not fit a resource of " +
                             std::to_string(size) + " bytes"}});
    r.with_header("Content-Range", "bytes */" + std::to_string(size));
    return a;
  }
  a.count = size;
  if (range.kind == ByteRange::Kind::kPartial) {
    a.first = range.first;
    a.count = range.last - range.first + 1;
    r.status = 206;
    r.with_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                       std::to_string(range.last) + "/" + std::to_string(size));
  }
  return a;
}

// `file` (a path from the catalog or the export queue, never from the request) answered whole or
// by the request's Range. With `limit`, the file is served as if it were that long: a file being
// written grows past its last synced fragment, and those bytes must not be served (a half-written
// fragment, or one a crash would cut off). The body is a slice of the open file, which the server
// reads a piece at a time as the client takes it: a download of any size holds one piece.
Response serve_file(const std::filesystem::path& file, const http::Request& req,
                    const std::string& content_type,
                    std::optional<uint64_t> limit = std::nullopt) {
  auto f = http::OpenFile::open(file);
  const uint64_t size = std::min(f->size(), limit.value_or(UINT64_MAX));
  RangedAnswer a = ranged_answer(req, size, content_type);
  if (a.response.status != 416) a.response.file = http::FileSlice{std::move(f), a.first, a.count};
  return std::move(a.response);
}

// The most of an archived segment one response carries: it is read from the store into memory
// before it is sent. Players ask for a fragment or a few at a time (HLS byte ranges).
constexpr uint64_t kMaxArchivedBody = 64ull << 20;

// An archived segment (`row`, whose bytes are the object `row.archive_key`) answered whole or by
// the request's Range, read from the store by the same range: what a local file's serve_file
// does, through vigil, so that the store's credentials never reach a browser.
Response serve_archived(archive::ObjectReader& store, const SegmentRow& row,
                        const http::Request& req) {
  RangedAnswer a = ranged_answer(req, row.bytes, "video/mp4");
  if (a.response.status == 416) return std::move(a.response);
  if (a.count > kMaxArchivedBody) {
    return Response::error(413, "segment " + std::to_string(row.id) +
                                    " is in the archive: ask for at most " +
                                    std::to_string(kMaxArchivedBody) + " bytes of it at a time "
                                    "(a Range header)");
  }
  a.response.body = store.read(row.archive_key, a.first, a.count);
  if (a.response.body.size() != a.count) {
    throw Error(ErrorCode::kDataLoss, "segment " + std::to_string(row.id) + ": the archive's " +
                                          row.archive_key + " is shorter than the catalog says");
  }
  return std::move(a.response);
}

// A playlist asked for within this long of the session's last one belongs to the same playback
// session (hls.js reloads every target duration, a few seconds; a player paused for longer
// starts a new one, audited again).
constexpr WallDuration kPlaybackSessionGrace = std::chrono::minutes(5);
// Windows remembered per playback session: a bound on memory for a client that jumps around
// without end (past it, the oldest is forgotten and may be audited again).
constexpr size_t kMaxSessionWindows = 64;

std::string codec_refusal_detail(const std::string& camera, const std::string& codec,
                                 WallTime at) {
  return "camera " + camera + " recorded " +
         (codec == "hevc" ? std::string("H.265 (HEVC)") : codec) + " at " + format_iso8601(at) +
         ", which web browsers cannot play; export the range as an MP4 "
         "(POST /api/exports) and play it with a desktop player";
}

Response codec_refusal(const std::string& camera, const std::string& codec, WallTime at) {
  return Response::json(422, {{"error", "unsupported_codec"},
                              {"detail", codec_refusal_detail(camera, codec, at)},
                              {"codec", codec},
                              {"export", "/api/exports"}});
}

std::string compact_utc(WallTime t) {
  const std::time_t secs = static_cast<std::time_t>(ms_since_epoch(t) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

json job_json(const ExportJob& j) {
  json body = {{"id", j.id},
               {"camera", j.camera_id},
               {"user", j.user_name},
               {"start_ms", ms_since_epoch(j.start)},
               {"end_ms", ms_since_epoch(j.end)},
               {"clip_start_ms", ms_since_epoch(j.clip_start)},
               {"state", export_state_name(j.state)},
               {"evidence", j.evidence != nullptr},
               {"files", j.pieces.size()}};
  if (j.evidence) {
    body["files"] = j.evidence->parts.size();
    // Known when queued: a bundle ends early only when its end is not signed yet.
    body["note"] = j.result.note;
  }
  if (j.state == ExportJob::State::kDone) {
    body["duration_s"] = static_cast<double>(j.result.duration.count()) / 90000.0;
    body["bytes"] = j.bytes;
    body["note"] = j.result.note;
    body["file"] = "/api/exports/" + std::to_string(j.id) + "/file";
  }
  // The log has the detail (file paths are not for API callers).
  if (j.state == ExportJob::State::kFailed) {
    body["error"] =
        "the export failed (a segment file may have been deleted by retention "
        "meanwhile); the server's log says why";
  }
  return body;
}

}  // namespace

Playback::Playback(const ConfigStore& configs, AccountStore& accounts, const Clock& clock,
                   ComponentRegistry* components)
    : configs_(configs),
      data_dir_(configs.current()->data_dir),
      catalog_location_(configs.current()->catalog_location()),
      accounts_(accounts),
      clock_(clock),
      components_(components) {
  if (const ArchiveSettings& a = configs.current()->archive; a.enabled()) {
    archive_ = std::make_unique<archive::ObjectReader>(archive::s3_config(a));
  }
}

Playback::~Playback() = default;

Catalog& Playback::catalog() {
  std::lock_guard lock(mu_);
  if (!catalog_) catalog_ = std::make_unique<Catalog>(catalog_location_);
  return *catalog_;
}

EventStore& Playback::events() {
  catalog();  // migrated first
  std::lock_guard lock(mu_);
  if (!events_) events_ = std::make_unique<EventStore>(catalog_location_);
  return *events_;
}

ExportQueue& Playback::exports() {
  std::lock_guard lock(mu_);
  if (!exports_) {
    exports_ = std::make_unique<ExportQueue>(data_dir_ / "exports", clock_, components_);
    if (archive_) {
      exports_->set_archive_fetch([store = archive_.get()](const std::string& key,
                                                           const std::filesystem::path& to) {
        store->download(key, to);
      });
    }
  }
  return *exports_;
}

void Playback::add_routes(Router& router) {
  auto add = [&](std::string method, std::string pattern, Access access,
                 Response (Playback::*fn)(Call&)) {
    add_route(router, this, std::move(method), std::move(pattern), std::move(access), fn);
  };
  const Access camera_viewer{true, Role::kViewer, "id"};
  // Segment and export routes name no camera in the path: their handlers check the camera of
  // the row they load (the one thing authorize() cannot know).
  const Access viewer{true, Role::kViewer, ""};
  const Access operator_{true, Role::kOperator, ""};
  add("GET", "/api/cameras/{id:camera}/timeline", camera_viewer, &Playback::timeline);
  add("GET", "/api/cameras/{id:camera}/playback.m3u8", camera_viewer, &Playback::playlist);
  add("GET", "/api/cameras/{id:camera}/preview", camera_viewer, &Playback::preview);
  add("GET", "/api/segments/{sid:int}/media", viewer, &Playback::media);
  add("POST", "/api/exports", operator_, &Playback::create_export);
  add("GET", "/api/exports/{eid:int}", operator_, &Playback::export_status);
  add("GET", "/api/exports/{eid:int}/file", operator_, &Playback::export_file);
}

AuditEntry Playback::audit(const Call& call, const std::string& action,
                           const std::string& camera, WallTime start, WallTime end,
                           const std::string& detail) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = action;
  e.camera_id = camera;
  e.range_start = start;
  e.range_end = end;
  e.detail = detail;
  e.id = accounts_.append_audit(e);
  return e;
}

Response Playback::timeline(Call& call) {
  const std::string& camera_id = call.params["id"];
  // Footage runs and gaps of the stream asked for; events are the camera's.
  const std::string camera = query_stream_id(call, camera_id);
  const Window w = query_window(call, kMaxTimelineWindow, "timeline");
  std::vector<TimelineSegment> segs;
  const WallTime now = clock_.wall_now();
  // Runs, not segments: a month of 2-minute files is 21,600 rows but a few dozen runs. The
  // catalog merges files into runs by the timeline's own rule.
  static_assert(kTimelineMergeTolerance == WallDuration{kRunToleranceMs});
  for (const auto& r : catalog().runs_between(camera, w.start, w.end)) {
    // The open file's row says end == start until it closes; its run reaches up to now.
    const WallTime end = r.writing ? std::max(now, r.wall_end) : r.wall_end;
    segs.push_back({r.wall_start, end, static_cast<int>(r.segments)});
  }
  std::vector<TimelineGap> gaps;
  for (auto& g : catalog().gaps_between(camera, w.start, w.end)) {
    gaps.push_back({g.wall_start, g.wall_end, std::move(g.reason)});
  }
  const Timeline t = build_timeline(std::move(segs), std::move(gaps), w.start, w.end);
  json recorded = json::array();
  for (const auto& r : t.recorded) {
    json j = range_json(r.start, r.end);
    j["segments"] = r.segments;
    recorded.push_back(std::move(j));
  }
  json gap_list = json::array();
  for (const auto& g : t.gaps) {
    json j = range_json(g.start, g.end);
    j["reason"] = g.reason;
    gap_list.push_back(std::move(j));
  }
  // Events on the same time line (events_api.h has the details), oldest first; a window with
  // more than kMaxTimelineEvents lists the newest of them and says so.
  constexpr int kMaxTimelineEvents = 1000;
  EventFilter f;
  f.cameras = std::vector<std::string>{camera_id};
  f.from = w.start;
  f.to = w.end;
  f.limit = kMaxTimelineEvents;
  auto evs = events().find(f);
  json event_list = json::array();
  for (auto it = evs.rbegin(); it != evs.rend(); ++it) {
    json j = range_json(it->start, it->end);
    j["id"] = it->id;
    j["type"] = it->type;
    j["armed"] = it->armed;
    j["open"] = it->open;
    event_list.push_back(std::move(j));
  }
  json body = range_json(w.start, w.end);
  body["camera"] = camera_id;
  body["stream"] = camera == camera_id ? "main" : "sub";
  body["recorded"] = std::move(recorded);
  body["gaps"] = std::move(gap_list);
  body["events"] = std::move(event_list);
  body["events_truncated"] = static_cast<int>(evs.size()) == kMaxTimelineEvents;
  return Response::json(200, body);
}

Response Playback::playlist(Call& call) {
  const std::string& camera_id = call.params["id"];
  const std::string camera = query_stream_id(call, camera_id);
  const Window w = query_window(call, kMaxPlaylistWindow, "playback");
  // The registry before the catalog: a file that closes in between is then closed in the
  // catalog's answer (its row is closed before it leaves the registry), so it is never missed.
  std::optional<OpenSegment> open =
      open_segments_ ? open_segments_->of_camera(camera) : std::nullopt;
  if (open && open->wall_start >= w.end) open.reset();  // begins after the window
  std::vector<PlaylistFile> files;
  for (auto& s : catalog().segments_between(camera, w.start, w.end)) {
    // A 'writing' row has no fragment index yet: the registry's entry stands for it. One that
    // is not the registry's is a file whose closing failed; recovery closes it at next start.
    if (s.state != SegmentState::kClosed) continue;
    if (open && open->segment_id == s.id) open.reset();  // closed meanwhile: the final index
    if (s.video_codec != "h264") return codec_refusal(camera, s.video_codec, s.wall_start);
    auto frags = decode_fragment_index(s.fragment_index, s.init_bytes);
    if (!frags) {
      throw Error(ErrorCode::kDataLoss,
                  "segment " + std::to_string(s.id) + ": malformed fragment index in the catalog");
    }
    files.push_back({s.id, s.wall_start, s.init_bytes, std::move(*frags)});
  }
  // The window reaches past what the file being written has synced: more will be appended, so
  // the playlist is an EVENT one that the player reloads (playback.md, "The file being
  // recorded").
  bool live = false;
  if (open) {
    if (open->video_codec != "h264") return codec_refusal(camera, open->video_codec, open->wall_start);
    live = open->durable_end() < w.end;
    PlaylistFile f{open->segment_id, open->wall_start, open->init_bytes, std::move(open->fragments)};
    // The newest file of the camera, but a host clock stepped back can date it earlier.
    auto at = std::upper_bound(files.begin(), files.end(), f.wall_start,
                               [](WallTime t, const PlaylistFile& x) { return t < x.wall_start; });
    files.insert(at, std::move(f));
  }
  const Playlist p = build_playlist(files, w.start, w.end, "/api/segments/", "/media",
                                    live ? PlaylistType::kEvent : PlaylistType::kVod);
  if (p.fragments == 0) {
    throw Error(ErrorCode::kNotFound,
                "no footage of camera " + camera + " from " + window_text(w) +
                    (live ? " yet: the file being recorded holds it once its part (one GOP, "
                            "a few seconds) is written"
                          : ""));
  }
  if (audit_playlist(*call.principal, camera, w.start, w.end)) {
    audit(call, "playback", camera_id, w.start, w.end,
          std::to_string(p.fragments) + " fragments from " + format_iso8601(p.first) +
              stream_note(camera) + (live ? " (live: the file being recorded)" : ""));
  }
  Response r;
  r.content_type = "application/vnd.apple.mpegurl";
  r.body = p.text;
  return r;
}

bool Playback::audit_playlist(const Principal& who, const std::string& camera, WallTime start,
                              WallTime end) {
  const WallTime now = clock_.wall_now();
  // The login session's hash (not the user): two browsers of one user are two viewings.
  std::string session = who.via == Principal::Via::kToken
                            ? "token " + std::to_string(who.token_id)
                            : std::string(who.session_sha256.begin(), who.session_sha256.end());
  std::lock_guard lock(sessions_mu_);
  std::erase_if(playback_sessions_,
                [&](const auto& e) { return now - e.second.last_request > kPlaybackSessionGrace; });
  PlaybackSession& s = playback_sessions_[{std::move(session), camera}];
  s.last_request = now;
  // What the window can show is recorded by now: its end past the present adds nothing.
  const WallTime shown_end = std::min(end, now);
  for (const auto& [from, to] : s.audited) {
    if (start >= from && shown_end <= to) return false;
  }
  // A window reaching the present covers what is recorded while the session goes on, as the
  // reloads of a live playlist show it.
  s.audited.emplace_back(start, end >= now ? WallTime::max() : end);
  if (s.audited.size() > kMaxSessionWindows) s.audited.erase(s.audited.begin());
  return true;
}

std::optional<JpegImage> Playback::still_at(const std::string& camera, WallTime at) {
  // The registry before the catalog, as for playlists: a file closing in between is found closed.
  std::optional<OpenSegment> open =
      open_segments_ ? open_segments_->of_camera(camera) : std::nullopt;
  for (auto& s : catalog().segments_between(camera, at, at + WallDuration{1})) {
    if (s.state != SegmentState::kClosed) continue;
    auto frags = decode_fragment_index(s.fragment_index, s.init_bytes);
    if (!frags) {
      throw Error(ErrorCode::kDataLoss,
                  "segment " + std::to_string(s.id) + ": malformed fragment index in the catalog");
    }
    if (auto f = fragment_at(*frags, s.wall_start, at)) {
      if (!s.archived()) return fragment_still(data_dir_ / s.path, s.init_bytes, *f);
      auto [init, fragment] = archived_parts(s.archive_key, s.init_bytes, *f);
      return fragment_still(std::move(init) + fragment,
                            "still of " + s.archive_key + " in the archive at byte " +
                                std::to_string(f->offset));
    }
  }
  if (open) {
    if (auto f = fragment_at(open->fragments, open->wall_start, at)) {
      return fragment_still(data_dir_ / open->path, open->init_bytes, *f);
    }
  }
  return std::nullopt;
}

namespace {

// How far from the moment asked for a preview's keyframe may be: beyond it, the moment is in a
// gap and a picture from elsewhere would mislead.
constexpr WallDuration kPreviewReach = std::chrono::seconds(30);
constexpr int kPreviewWidth = 320;

}  // namespace

Response Playback::preview(Call& call) {
  const std::string& camera_id = call.params["id"];
  for (const auto& [k, v] : call.query) {
    if (k != "t" && k != "stream") throw Error(ErrorCode::kInvalidArgument, "unknown query parameter " + k);
  }
  const auto t_param = call.query.find("t");
  if (t_param == call.query.end()) {
    throw Error(ErrorCode::kInvalidArgument, "query t (UTC ms) is required");
  }
  const int64_t t_ms = parse_ms(t_param->second, "t");
  if (t_ms > kMaxMs) throw Error(ErrorCode::kInvalidArgument, "t is out of range");
  const WallTime t = wall_from_ms(t_ms);
  // The sub stream first unless a stream is named: smaller to read and to decode.
  std::vector<std::string> ids;
  if (call.query.count("stream")) {
    ids.push_back(query_stream_id(call, camera_id));
  } else {
    ids = {sub_stream_id(camera_id), camera_id};
  }
  std::optional<KeyframePick> pick;
  std::pair<std::string, std::string> path;  // its path, or its archive key when archived
  std::string catalog_id;
  for (const std::string& id : ids) {
    std::vector<PlaylistFile> files;
    std::map<int64_t, std::pair<std::string, std::string>> paths;  // path, archive key
    for (auto& s : catalog().segments_between(id, t - kPreviewReach, t + kPreviewReach)) {
      if (s.state != SegmentState::kClosed) continue;
      auto frags = decode_fragment_index(s.fragment_index, s.init_bytes);
      if (!frags) continue;  // vigil check reports it; a preview need not
      files.push_back({s.id, s.wall_start, s.init_bytes, std::move(*frags)});
      paths[s.id] = {s.path, s.archive_key};
    }
    // The file being written: its synced fragments.
    if (auto open = open_segments_ ? open_segments_->of_camera(id) : std::nullopt) {
      paths[open->segment_id] = {open->path, ""};
      files.push_back({open->segment_id, open->wall_start, open->init_bytes, std::move(open->fragments)});
    }
    pick = nearest_keyframe(files, t, kPreviewReach);
    if (pick) {
      path = paths[pick->segment_id];
      catalog_id = id;
      break;
    }
  }
  if (!pick) {
    throw Error(ErrorCode::kNotFound, "no footage of camera " + camera_id + " near " +
                                          format_iso8601(t));
  }
  // One audit row per playback session and day of the timeline, not one per hover.
  const WallTime day = wall_from_ms(t_ms - t_ms % 86'400'000);
  if (audit_playlist(*call.principal, "preview " + catalog_id, day, day + std::chrono::hours(24))) {
    audit(call, "preview", camera_id, day, day + std::chrono::hours(24),
          "timeline previews" + stream_note(catalog_id));
  }
  const std::string key = catalog_id + "/" + std::to_string(pick->segment_id) + "/" +
                          std::to_string(pick->fragment.offset);
  std::shared_ptr<const std::string> jpeg = previews_.get(key);
  if (!jpeg) {
    std::string init;
    std::string keyframe;
    if (const std::string& archive_key = path.second; !archive_key.empty()) {
      std::tie(init, keyframe) = archived_parts(archive_key, pick->init_bytes, pick->fragment);
    } else {
      const std::filesystem::path file = data_dir_ / path.first;
      const Fd f = open_footage(file);
      init = read_exactly(f, file, 0, pick->init_bytes);
      keyframe = read_exactly(f, file, pick->fragment.offset, pick->fragment.size);
    }
    const std::optional<std::string> made =
        fragment_thumbnail(std::move(init), std::move(keyframe), kPreviewWidth);
    if (!made) {
      throw Error(ErrorCode::kDataLoss, "segment " + std::to_string(pick->segment_id) +
                                            ": the keyframe at " + format_iso8601(pick->at) +
                                            " does not decode");
    }
    jpeg = std::make_shared<const std::string>(*made);
    previews_.put(key, jpeg);
  }
  Response r;
  r.content_type = "image/jpeg";
  r.body = *jpeg;
  r.with_header("Cache-Control", "private, max-age=3600");
  // The moment the picture shows (the keyframe), and of which stream.
  r.with_header("X-Vigil-Keyframe-Ms", std::to_string(ms_since_epoch(pick->at)));
  r.with_header("X-Vigil-Stream", catalog_id == camera_id ? "main" : "sub");
  return r;
}

Response Playback::media(Call& call) {
  const int64_t id = std::stoll(call.params["sid"]);
  auto row = catalog().segment(id);
  if (!row || row->state == SegmentState::kDeleting) {
    throw Error(ErrorCode::kNotFound, "no segment " + call.params["sid"]);
  }
  if (!call.principal->user.may_see_camera(camera_of_stream(row->camera_id))) {
    throw Error(ErrorCode::kPermissionDenied,
                "segment " + call.params["sid"] + " belongs to a camera not in your list");
  }
  std::optional<uint64_t> limit;
  if (row->state == SegmentState::kWriting) {
    // Only what the recorder has synced, never the fragment it is writing.
    limit = open_segments_ ? open_segments_->durable_bytes(id) : std::nullopt;
    if (!limit) {
      // Closed since the row was read (the row is closed before the registry lets go), or a
      // file whose closing failed, which only recovery may vouch for.
      row = catalog().segment(id);
      if (!row || row->state != SegmentState::kClosed) {
        throw Error(ErrorCode::kNotFound,
                    "segment " + call.params["sid"] +
                        " is not being recorded and not closed (recovery closes it at the next "
                        "start)");
      }
    }
  }
  if (row->archived()) return serve_archived(archived_store(row->archive_key), *row, call.request);
  try {
    // The path is the catalog's, relative to the data directory; nothing of the request is in it.
    return serve_file(data_dir_ / row->path, call.request, "video/mp4", limit);
  } catch (const Error& e) {
    // Archived (and deleted here) since the row was read: the object has the same bytes.
    if (e.code() != ErrorCode::kNotFound) throw;
    row = catalog().segment(id);
    if (!row || !row->archived()) throw;
    return serve_archived(archived_store(row->archive_key), *row, call.request);
  }
}

archive::ObjectReader& Playback::archived_store(const std::string& key) {
  if (!archive_) {
    throw Error(ErrorCode::kFailedPrecondition,
                "footage is in the archive as " + key +
                    ", but no [archive] store is configured to read it from");
  }
  return *archive_;
}

std::pair<std::string, std::string> Playback::archived_parts(const std::string& key,
                                                             uint64_t init_bytes,
                                                             const Fragment& f) {
  archive::ObjectReader& store = archived_store(key);
  std::pair<std::string, std::string> parts{store.read(key, 0, init_bytes),
                                            store.read(key, f.offset, f.size)};
  if (parts.first.size() != init_bytes || parts.second.size() != f.size) {
    throw Error(ErrorCode::kDataLoss, key + " in the archive is shorter than the catalog says");
  }
  return parts;
}

Response Playback::create_export(Call& call) {
  if (call.request.header("content-type").rfind("application/json", 0) != 0) {
    return Response::error(415, "send the body as application/json");
  }
  const json body = http::parse_json_body(call.request.body);
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "camera" && k != "start" && k != "end" && k != "evidence" && k != "stream") {
      throw Error(ErrorCode::kInvalidArgument, "unknown field \"" + k + "\"");
    }
  }
  if (!body.contains("camera") || !body["camera"].is_string() ||
      !valid_param(ParamType::kCamera, body["camera"].get<std::string>())) {
    throw Error(ErrorCode::kInvalidArgument, "field \"camera\" must be a camera id");
  }
  for (const char* k : {"start", "end"}) {
    if (!body.contains(k) || !body[k].is_number_integer()) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("field \"") + k + "\" must be UTC milliseconds (an integer)");
    }
  }
  if (body.contains("evidence") && !body["evidence"].is_boolean()) {
    throw Error(ErrorCode::kInvalidArgument, "field \"evidence\" must be true or false");
  }
  if (body.contains("stream") && !body["stream"].is_string()) {
    throw Error(ErrorCode::kInvalidArgument, "field \"stream\" must be \"main\" or \"sub\"");
  }
  const bool evidence = body.value("evidence", false);
  const std::string camera = body["camera"].get<std::string>();
  // The camera is in the body, not the path, so authorize() could not check it: the same rule
  // here (not in the list: 403 whether it exists or not).
  if (!call.principal->user.may_see_camera(camera)) {
    throw Error(ErrorCode::kPermissionDenied, "camera " + camera + " is not in your list");
  }
  if (!configs_.current()->find_camera(camera)) throw Error(ErrorCode::kNotFound, "no camera " + camera);
  const Window w = check_window(body["start"].get<int64_t>(), body["end"].get<int64_t>(),
                                kMaxExportWindow, "export");
  return export_range(call, stream_id(camera, body.value("stream", "")), w.start, w.end, "",
                      evidence);
}

json Playback::queue_evidence(Call& call, const std::string& camera, WallTime start,
                              WallTime end, const std::string& detail) {
  const auto config = configs_.current();
  const CameraConfig* cam = config->find_camera(camera_of_stream(camera));
  // Only catalog rows are read here (no footage): the bytes are read and hashed by the queue.
  EvidencePlan plan = plan_evidence_bundle(catalog(), data_dir_, camera,
                                           cam ? cam->name : camera, start, end);
  ExportJob job;
  job.user_name = call.principal->user.name;
  job.estimate = files_bytes(export_pieces(catalog(), data_dir_, camera, start, end));
  // Within the bounds before the audit row (a refused export is none); submit_export below
  // judges again under the queue's lock.
  if (auto why = exports().refusal(job, export_bounds(), free_space(data_dir_))) {
    throw refused(*why);
  }
  // Read (and audited) once the bundle is known to be made, so a refused export reads nothing.
  EvidenceExtras extras;
  if (evidence_extras_) extras = evidence_extras_(call, camera_of_stream(camera), start, end);
  // Audited before the bundle is written: the bundle carries its own audit row, which says
  // what it holds.
  const AuditEntry a = audit(call, "evidence_export", camera_of_stream(camera), start, end,
                             evidence_audit_detail(plan, detail) + stream_note(camera) +
                                 (extras.note.empty() ? "" : "; " + extras.note));
  complete_evidence_input(plan, a, accounts_.audit_link_of(a.id),
                          load_or_create_signing_key(data_dir_));
  plan.input.attachments = std::move(extras.attachments);
  job.camera_id = camera;
  job.user_name = call.principal->user.name;
  job.start = start;
  job.end = end;
  job.clip_start = plan.footage_start;
  job.result.duration = to_ticks(plan.footage_end - plan.footage_start);
  job.result.files = static_cast<int>(plan.input.parts.size());
  job.result.note = plan.note;
  job.evidence = std::make_shared<const BundleInput>(std::move(plan.input));
  const int64_t id = submit_export(std::move(job));
  return job_json(*exports().job(id));
}

Response Playback::export_range(Call& call, const std::string& camera, WallTime start, WallTime end,
                                const std::string& detail, bool evidence,
                                std::vector<SubtitleCue> subtitles) {
  if (evidence) {
    const json job = queue_evidence(call, camera, start, end, detail);
    Response r = Response::json(202, job);
    r.with_header("Location", "/api/exports/" + std::to_string(job["id"].get<int64_t>()));
    return r;
  }
  const Window w{start, end};
  ExportJob job;
  job.camera_id = camera;
  job.user_name = call.principal->user.name;
  job.start = w.start;
  job.end = w.end;
  job.pieces = export_pieces(catalog(), data_dir_, camera, w.start, w.end);
  if (job.pieces.empty()) {
    throw Error(ErrorCode::kNotFound,
                "no footage of camera " + camera + " from " + window_text(w) + " to export");
  }
  job.clip_start = job.pieces.front().wall_start + to_wall(job.pieces.front().from);
  job.subtitles = std::move(subtitles);
  const size_t pieces = job.pieces.size();
  job.estimate = files_bytes(job.pieces);
  const int64_t id = submit_export(std::move(job));
  audit(call, "export", camera_of_stream(camera), w.start, w.end,
        "export " + std::to_string(id) + " of " + std::to_string(pieces) + " segment files" +
            stream_note(camera) + (detail.empty() ? "" : " (" + detail + ")"));
  auto queued = exports().job(id);
  Response r = Response::json(202, job_json(*queued));
  r.with_header("Location", "/api/exports/" + std::to_string(id));
  return r;
}

ExportBounds Playback::export_bounds() {
  const auto config = configs_.current();
  const ExportSettings& e = config->exports;
  ExportBounds b;
  b.max_running = e.max_running;
  b.max_running_per_user = e.max_running_per_user;
  b.max_stored_per_user = e.max_stored_per_user;
  b.max_stored_bytes = e.max_stored_bytes.value_or(config->min_free_bytes / 2);
  b.min_free_bytes = config->min_free_bytes;
  return b;
}

int64_t Playback::submit_export(ExportJob job) {
  auto queued = exports().submit(std::move(job), export_bounds(), free_space(data_dir_));
  if (const auto* why = std::get_if<ExportRefused>(&queued)) throw refused(*why);
  return std::get<int64_t>(queued);
}

std::optional<ExportJob> Playback::visible_job(const Call& call) {
  const int64_t id = std::stoll(call.params.at("eid"));
  auto job = exports().job(id);
  const User& u = call.principal->user;
  // Someone else's export is "not found": its existence is not the caller's business. The
  // camera right is checked again, as it may have been taken away since.
  if (!job || (job->user_name != u.name && u.role != Role::kAdmin) ||
      !u.may_see_camera(camera_of_stream(job->camera_id))) {
    throw Error(ErrorCode::kNotFound, "no export " + call.params.at("eid"));
  }
  return job;
}

Response Playback::export_status(Call& call) {
  return Response::json(200, job_json(*visible_job(call)));
}

Response Playback::export_file(Call& call) {
  const auto job = visible_job(call);
  if (job->state != ExportJob::State::kDone) {
    return Response::json(409, {{"error", "conflict"},
                                {"detail", std::string("export ") + call.params.at("eid") + " is " +
                                               export_state_name(job->state) + ", not done"},
                                {"state", export_state_name(job->state)}});
  }
  Response r = serve_file(job->file, call.request, job->evidence ? "application/zip" : "video/mp4");
  r.with_header("Content-Disposition", "attachment; filename=\"vigil-" + job->camera_id + "-" +
                                           compact_utc(job->clip_start) +
                                           (job->evidence ? "-evidence.zip\"" : ".mp4\""));
  return r;
}

}  // namespace vigil
