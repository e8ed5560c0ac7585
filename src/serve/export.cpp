#include "serve/export.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "ingest/media.h"
#include "record/fragment_index.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
}

namespace vigil {
namespace {

constexpr AVRational k90k{1, 90000};

struct InputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
using Input = std::unique_ptr<AVFormatContext, InputCloser>;

struct OutputCloser {
  void operator()(AVFormatContext* c) const {
    if (c->pb) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using Output = std::unique_ptr<AVFormatContext, OutputCloser>;

struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

Input open_input(const std::filesystem::path& file) {
  AVFormatContext* raw = nullptr;
  if (int e = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); e < 0) {
    throw Error(ErrorCode::kDataLoss, "open " + file.string() + ": " + av_error_text(e));
  }
  return Input(raw);
}

// The first video and first audio stream of an input; -1 when absent.
struct StreamPick {
  int video = -1;
  int audio = -1;
};

StreamPick pick_streams(const AVFormatContext* in) {
  StreamPick p;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const auto type = in->streams[i]->codecpar->codec_type;
    if (type == AVMEDIA_TYPE_VIDEO && p.video < 0) p.video = static_cast<int>(i);
    if (type == AVMEDIA_TYPE_AUDIO && p.audio < 0) p.audio = static_cast<int>(i);
  }
  return p;
}

bool same_parameters(const AVCodecParameters* a, const AVCodecParameters* b) {
  return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height &&
         a->sample_rate == b->sample_rate && a->extradata_size == b->extradata_size &&
         (a->extradata_size == 0 ||
          std::memcmp(a->extradata, b->extradata, static_cast<size_t>(a->extradata_size)) == 0);
}

// The mov_text sample description (3GPP TS 26.245 §5.16, TextSampleEntry after its data
// reference index): no display flags, left/top justified, transparent background, default box,
// one style (font 1, 18 px, white) and a font table naming font 1 "Sans". The mp4 muxer writes
// a subtitle track's extradata as this box body.
constexpr uint8_t kTextSampleEntry[] = {
    0x00, 0x00, 0x00, 0x00,  // displayFlags
    0x00, 0x00,              // horizontal, vertical justification
    0x00, 0x00, 0x00, 0x00,  // background-color-rgba
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // BoxRecord top, left, bottom, right
    0x00, 0x00, 0x00, 0x00,  // StyleRecord startChar, endChar
    0x00, 0x01,              // font-ID
    0x00,                    // face-style-flags
    0x12,                    // font-size
    0xFF, 0xFF, 0xFF, 0xFF,  // text-color-rgba
    0x00, 0x00, 0x00, 0x11,  // FontTableBox size (17)
    'f', 't', 'a', 'b',      //
    0x00, 0x01,              // entry-count
    0x00, 0x01,              // font-ID
    0x04, 'S', 'a', 'n', 's'};

AVStream* add_mov_text_stream(AVFormatContext* octx) {
  AVStream* s = avformat_new_stream(octx, nullptr);
  if (!s) throw Error(ErrorCode::kResourceExhausted, "export: out of memory");
  s->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
  s->codecpar->codec_id = AV_CODEC_ID_MOV_TEXT;
  s->codecpar->extradata = static_cast<uint8_t*>(
      av_mallocz(sizeof kTextSampleEntry + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!s->codecpar->extradata) throw Error(ErrorCode::kResourceExhausted, "export: out of memory");
  std::memcpy(s->codecpar->extradata, kTextSampleEntry, sizeof kTextSampleEntry);
  s->codecpar->extradata_size = static_cast<int>(sizeof kTextSampleEntry);
  s->time_base = {1, 1000};
  return s;
}

// One mov_text sample (TS 26.245 §5.17 TextSample): the text's length (16 bits, big-endian)
// and its UTF-8 bytes, at `at` for `duration` in milliseconds of the clip.
void write_cue(AVFormatContext* octx, int stream, const std::string& text, int64_t at_ms,
               int64_t duration_ms, const std::filesystem::path& partial) {
  const size_t n = std::min<size_t>(text.size(), 0xFFFF);
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  if (!pkt || av_new_packet(pkt.get(), static_cast<int>(n + 2)) < 0) {
    throw Error(ErrorCode::kResourceExhausted, "export: out of memory");
  }
  pkt->data[0] = static_cast<uint8_t>(n >> 8);
  pkt->data[1] = static_cast<uint8_t>(n & 0xFF);
  std::memcpy(pkt->data + 2, text.data(), n);
  pkt->stream_index = stream;
  pkt->pts = pkt->dts = av_rescale_q(at_ms, {1, 1000}, octx->streams[stream]->time_base);
  pkt->duration = av_rescale_q(duration_ms, {1, 1000}, octx->streams[stream]->time_base);
  pkt->flags |= AV_PKT_FLAG_KEY;
  if (int w = av_interleaved_write_frame(octx, pkt.get()); w < 0) {
    throw Error(ErrorCode::kUnavailable, "export: write " + partial.string() + ": " + av_error_text(w));
  }
}

}  // namespace

std::vector<ExportPiece> export_pieces(Catalog& catalog, const std::filesystem::path& data_dir,
                                       const std::string& camera, WallTime start, WallTime end) {
  std::vector<ExportPiece> pieces;
  for (const auto& s : catalog.segments_between(camera, start, end)) {
    if (s.state != SegmentState::kClosed) continue;
    auto frags = decode_fragment_index(s.fragment_index, s.init_bytes);
    if (!frags || frags->empty()) continue;
    const Ticks90k want_from = to_ticks(std::max(start - s.wall_start, WallDuration(0)));
    const Ticks90k want_to = std::min(to_ticks(end - s.wall_start), s.media_duration);
    // The fragment holding want_from begins with the keyframe at or before it.
    Ticks90k from = frags->front().start;
    for (const auto& f : *frags) {
      if (f.start <= want_from) from = f.start;
    }
    if (from >= want_to) continue;
    pieces.push_back({data_dir / s.path, s.wall_start, from, want_to, s.archive_key, s.bytes});
  }
  return pieces;
}

RemuxResult remux_to_mp4(const std::vector<ExportPiece>& pieces, const std::filesystem::path& out,
                         const std::vector<SubtitleCue>& subtitles) {
  if (pieces.empty()) throw Error(ErrorCode::kNotFound, "export: no footage to copy");
  const std::filesystem::path partial = out.string() + ".partial";
  RemuxResult result;
  Output octx;
  int out_video = -1;
  int out_audio = -1;
  int out_text = -1;
  size_t next_cue = 0;
  int64_t text_end_ms = 0;  // cues never overlap in the track: each starts after the last ends
  // Where the next piece starts in the clip, and how far the clip reaches, in 90 kHz ticks.
  Ticks90k offset{0};
  Ticks90k video_end{0};
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  if (!pkt) throw Error(ErrorCode::kResourceExhausted, "export: out of memory");

  for (const auto& piece : pieces) {
    Input in = open_input(piece.file);
    const StreamPick pick = pick_streams(in.get());
    if (pick.video < 0) throw Error(ErrorCode::kDataLoss, piece.file.string() + ": no video");
    if (!octx) {
      AVFormatContext* raw = nullptr;
      if (int e = avformat_alloc_output_context2(&raw, nullptr, "mp4", partial.c_str()); e < 0) {
        throw Error(ErrorCode::kInternal, "export: mp4 muxer: " + av_error_text(e));
      }
      octx.reset(raw);
      for (int idx : {pick.video, pick.audio}) {
        if (idx < 0) continue;
        AVStream* os = avformat_new_stream(octx.get(), nullptr);
        if (!os) throw Error(ErrorCode::kResourceExhausted, "export: out of memory");
        if (int e = avcodec_parameters_copy(os->codecpar, in->streams[idx]->codecpar); e < 0) {
          throw Error(ErrorCode::kInternal, "export: copy codec parameters: " + av_error_text(e));
        }
        os->codecpar->codec_tag = 0;  // let the mp4 muxer choose (avc1, hvc1, mp4a)
        os->time_base = in->streams[idx]->time_base;
        (idx == pick.video ? out_video : out_audio) = os->index;
      }
      if (!subtitles.empty()) out_text = add_mov_text_stream(octx.get())->index;
      if (int e = avio_open(&octx->pb, partial.c_str(), AVIO_FLAG_WRITE); e < 0) {
        throw Error(ErrorCode::kUnavailable,
                    "export: create " + partial.string() + ": " + av_error_text(e));
      }
      AVDictionary* opts = nullptr;
      // The index in front, so that a browser plays the clip while it downloads.
      av_dict_set(&opts, "movflags", "+faststart", 0);
      const int e = avformat_write_header(octx.get(), &opts);
      av_dict_free(&opts);
      if (e < 0) throw Error(ErrorCode::kInternal, "export: mp4 header: " + av_error_text(e));
    } else {
      const AVCodecParameters* v0 = octx->streams[out_video]->codecpar;
      if (!same_parameters(v0, in->streams[pick.video]->codecpar)) {
        result.note = "the camera's video parameters changed at " +
                      format_iso8601(piece.wall_start) + "; the clip ends there";
        break;
      }
    }
    ++result.files;
    const Ticks90k piece_base = piece.from;
    // The cues that start before this piece ends, at their place in the clip's time line (a
    // cue before the piece's first frame, in a gap, starts with the piece).
    const WallTime piece_wall_end = piece.wall_start + to_wall(piece.to);
    for (; out_text >= 0 && next_cue < subtitles.size() && subtitles[next_cue].from < piece_wall_end;
         ++next_cue) {
      const SubtitleCue& cue = subtitles[next_cue];
      const Ticks90k into = std::max(to_ticks(cue.from - piece.wall_start) - piece_base, Ticks90k(0));
      const int64_t at_ms = std::max(av_rescale_q((offset + into).count(), k90k, {1, 1000}), text_end_ms);
      const int64_t end_ms = at_ms + std::chrono::duration_cast<std::chrono::milliseconds>(cue.to - cue.from).count();
      if (end_ms <= at_ms) continue;
      write_cue(octx.get(), out_text, cue.text, at_ms, end_ms - at_ms, partial);
      text_end_ms = end_ms;
    }
    Ticks90k piece_end = offset;
    while (true) {
      const int e = av_read_frame(in.get(), pkt.get());
      if (e == AVERROR_EOF) break;
      if (e < 0) throw Error(ErrorCode::kDataLoss, piece.file.string() + ": read: " + av_error_text(e));
      const int si = pkt->stream_index;
      const int os = si == pick.video ? out_video : si == pick.audio ? out_audio : -1;
      if (os < 0 || pkt->dts == AV_NOPTS_VALUE) {
        av_packet_unref(pkt.get());
        continue;
      }
      const AVRational itb = in->streams[si]->time_base;
      const Ticks90k dts{av_rescale_q(pkt->dts, itb, k90k)};
      if (dts < piece.from || dts >= piece.to) {
        av_packet_unref(pkt.get());
        continue;
      }
      const Ticks90k dur{av_rescale_q(pkt->duration, itb, k90k)};
      piece_end = std::max(piece_end, dts - piece_base + offset + dur);
      if (si == pick.video) video_end = std::max(video_end, dts - piece_base + offset + dur);
      // Shift into the clip's time line: this piece starts where the previous one ended.
      const AVRational otb = octx->streams[os]->time_base;
      const int64_t shift = av_rescale_q((offset - piece_base).count(), k90k, itb);
      if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += shift;
      pkt->dts += shift;
      av_packet_rescale_ts(pkt.get(), itb, otb);
      pkt->stream_index = os;
      pkt->pos = -1;
      if (int w = av_interleaved_write_frame(octx.get(), pkt.get()); w < 0) {
        throw Error(ErrorCode::kUnavailable,
                    "export: write " + partial.string() + ": " + av_error_text(w));
      }
    }
    offset = piece_end;
  }
  if (int e = av_write_trailer(octx.get()); e < 0) {
    throw Error(ErrorCode::kUnavailable, "export: finish " + partial.string() + ": " + av_error_text(e));
  }
  octx.reset();
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec)
    throw Error(ErrorCode::kUnavailable,
                "export: rename " + partial.string() + ": " + ec.message());
  result.duration = video_end;
  return result;
}

const char* export_state_name(ExportJob::State s) {
  switch (s) {
    case ExportJob::State::kQueued:
      return "queued";
    case ExportJob::State::kRunning:
      return "running";
    case ExportJob::State::kDone:
      return "done";
    case ExportJob::State::kFailed:
      return "failed";
  }
  return "?";
}

ExportQueue::ExportQueue(std::filesystem::path dir, const Clock& clock,
                         ComponentRegistry* components)
    : dir_(std::move(dir)), clock_(clock), worker_(components, {"export", "", ""}, "export") {
  std::filesystem::create_directories(dir_);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".mp4" || ext == ".zip" || ext == ".partial")) {
      std::error_code ec;
      std::filesystem::remove(e.path(), ec);
    }
  }
  worker_.start([this] { run(); });
}

ExportQueue::~ExportQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.stop();
}

void ExportQueue::expire_locked() {
  const SteadyTime now = clock_.steady_now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const auto& j = it->second;
    const bool finished = j.state == ExportJob::State::kDone || j.state == ExportJob::State::kFailed;
    if (finished && now - j.finished > kKeep) {
      std::error_code ec;
      std::filesystem::remove(j.file, ec);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<ExportRefused> ExportQueue::refusal(const ExportJob& job, const ExportBounds& bounds,
                                                  uint64_t free_bytes) {
  std::lock_guard lock(mu_);
  expire_locked();
  return refusal_locked(job, bounds, free_bytes);
}

std::optional<ExportRefused> ExportQueue::refusal_locked(const ExportJob& job,
                                                         const ExportBounds& bounds,
                                                         uint64_t free_bytes) const {
  int running = 0;
  int running_mine = 0;
  int stored_mine = 0;
  uint64_t bytes = 0;
  for (const auto& [id, j] : jobs_) {
    const bool mine = j.user_name == job.user_name;
    if (j.state == ExportJob::State::kQueued || j.state == ExportJob::State::kRunning) {
      ++running;
      running_mine += mine;
      bytes += j.estimate;
    } else if (j.state == ExportJob::State::kDone) {
      stored_mine += mine;
      bytes += j.bytes;
    }
  }
  auto refuse = [](int status, const char* limit, std::string detail) {
    return ExportRefused{status, limit, std::move(detail)};
  };
  if (running_mine >= bounds.max_running_per_user) {
    return refuse(429, "exports.max_running_per_user",
                  "you have " + std::to_string(running_mine) +
                      " exports queued or running, the most one user may have at once "
                      "([exports] max_running_per_user); try again when one is done");
  }
  if (running >= bounds.max_running) {
    return refuse(429, "exports.max_running",
                  std::to_string(running) +
                      " exports are queued or running, the most vigil runs at once ([exports] "
                      "max_running); try again in a minute");
  }
  if (stored_mine >= bounds.max_stored_per_user) {
    return refuse(429, "exports.max_stored_per_user",
                  "you have " + std::to_string(stored_mine) +
                      " finished exports kept, the most one user may keep ([exports] "
                      "max_stored_per_user); they expire " +
                      std::to_string(kKeep.count()) + " h after they finish");
  }
  if (bytes + job.estimate > bounds.max_stored_bytes) {
    return refuse(507, "exports.max_stored_bytes",
                  "this export needs up to " + std::to_string(job.estimate) +
                      " bytes and exports already hold " + std::to_string(bytes) + " of the " +
                      std::to_string(bounds.max_stored_bytes) +
                      " bytes they may use ([exports] max_stored_bytes); try a shorter range or "
                      "wait until older exports expire");
  }
  const uint64_t keep_free = bounds.min_free_bytes - std::min(bounds.min_free_bytes, bounds.max_stored_bytes);
  if (free_bytes < keep_free + job.estimate) {
    return refuse(507, "min_free_space",
                  "the disk has " + std::to_string(free_bytes) + " bytes free and this export needs up to " +
                      std::to_string(job.estimate) + "; it would leave less than the " +
                      std::to_string(keep_free) +
                      " bytes that min_free_space keeps beyond what exports may use, and retention "
                      "would delete footage to make room");
  }
  return std::nullopt;
}

std::variant<int64_t, ExportRefused> ExportQueue::submit(ExportJob job, const ExportBounds& bounds,
                                                         uint64_t free_bytes) {
  std::lock_guard lock(mu_);
  expire_locked();
  if (auto why = refusal_locked(job, bounds, free_bytes)) return *why;
  job.id = next_id_++;
  job.state = ExportJob::State::kQueued;
  job.file = dir_ / (std::to_string(job.id) + (job.evidence ? ".zip" : ".mp4"));
  const int64_t id = job.id;
  jobs_.emplace(id, std::move(job));
  queue_.push_back(id);
  cv_.notify_one();
  return id;
}

std::optional<ExportJob> ExportQueue::job(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::filesystem::path> ExportQueue::fetch_archived(ExportJob& job) {
  std::map<std::string, std::filesystem::path> copies;  // by key
  const auto local = [&](const std::string& key) {
    auto it = copies.find(key);
    if (it != copies.end()) return it->second;
    if (!fetch_) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "the footage is in the archive as " + key +
                      ", but no [archive] store is configured to read it from");
    }
    // Named like an export's file, so that a restart removes one a crash left behind.
    const std::filesystem::path to =
        dir_ / (std::to_string(job.id) + ".archived-" + std::to_string(copies.size()) + ".mp4");
    copies.emplace(key, to);  // before the fetch: a partial copy is removed too
    fetch_(key, to);
    return to;
  };
  try {
    for (ExportPiece& p : job.pieces) {
      if (!p.archive_key.empty()) p.file = local(p.archive_key);
    }
    if (job.evidence) {
      auto input = std::make_shared<BundleInput>(*job.evidence);
      const auto point = [&](FileRange& r) {
        if (!r.archive_key.empty()) r.file = local(r.archive_key);
      };
      for (BundlePart& part : input->parts) {
        if (auto* init = std::get_if<FileRange>(&part.init)) point(*init);
        for (BundleFragment& f : part.fragments) point(f.bytes);
      }
      job.evidence = std::move(input);
    }
  } catch (...) {
    for (const auto& [key, f] : copies) {
      std::error_code ec;
      std::filesystem::remove(f, ec);
    }
    throw;
  }
  std::vector<std::filesystem::path> out;
  for (const auto& [key, f] : copies) out.push_back(f);
  return out;
}

void ExportQueue::run() {
  for (;;) {
    ExportJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      auto& j = jobs_.at(queue_.front());
      queue_.pop_front();
      j.state = ExportJob::State::kRunning;
      job = j;
    }
    ExportJob::State state = ExportJob::State::kDone;
    std::string error;
    RemuxResult result = job.result;
    uint64_t bytes = 0;
    std::vector<std::filesystem::path> fetched;
    try {
      fetched = fetch_archived(job);
      if (job.evidence) {
        write_evidence_bundle(*job.evidence, job.file);
      } else {
        result = remux_to_mp4(job.pieces, job.file, job.subtitles);
      }
      bytes = std::filesystem::file_size(job.file);
    } catch (...) {
      // Whatever the remux or the bundle writer threw, the job ends (failed) rather than stay
      // "running".
      state = ExportJob::State::kFailed;
      error = describe_current_exception();
      spdlog::error("export {} of camera {}: {}", job.id, job.camera_id, error);
    }
    for (const auto& f : fetched) {
      std::error_code ec;
      std::filesystem::remove(f, ec);
    }
    std::lock_guard lock(mu_);
    auto& j = jobs_.at(job.id);
    j.state = state;
    j.error = error;
    j.result = result;
    j.bytes = bytes;
    j.finished = clock_.steady_now();
  }
}

}  // namespace vigil
