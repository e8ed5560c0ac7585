#include "serve/live_hub.h"

#include <spdlog/spdlog.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <cstdio>

#include "core/error.h"

namespace vigil {
namespace {

constexpr int kAvioBufferSize = 64 * 1024;

int append_cb(void* opaque, uint8_t* buf, int size) {
  static_cast<std::string*>(opaque)->append(reinterpret_cast<const char*>(buf),
                                            static_cast<size_t>(size));
  return size;
}

std::shared_ptr<const AVPacket> clone_packet(const AVPacket* p) {
  AVPacket* c = av_packet_clone(p);
  if (!c) return nullptr;
  return std::shared_ptr<const AVPacket>(c, [](const AVPacket* q) {
    auto* m = const_cast<AVPacket*>(q);
    av_packet_free(&m);
  });
}

}  // namespace

// ---- LiveViewer ----------------------------------------------------------------------------

LiveViewer::LiveViewer(std::shared_ptr<const std::string> init, size_t queue_bytes,
                       int max_overflows)
    : queue_bytes_(queue_bytes), max_overflows_(max_overflows), init_(std::move(init)) {}

void LiveViewer::wait_for_keyframe() {
  std::lock_guard lock(mu_);
  waiting_for_key_ = true;
}

LiveViewer::Chunks LiveViewer::take_locked() {
  Chunks out;
  out.reserve(queue_.size() + 1);
  if (init_) out.push_back(std::move(init_));
  init_.reset();
  out.insert(out.end(), queue_.begin(), queue_.end());
  queue_.clear();
  queued_ = 0;
  return out;
}

LiveViewer::Pushed LiveViewer::push(std::shared_ptr<const std::string> fragment, bool keyframe) {
  std::function<void(Chunks)> ready;
  Chunks out;
  Pushed result = Pushed::kQueued;
  {
    std::lock_guard lock(mu_);
    if (ended_) return Pushed::kEnded;
    if (waiting_for_key_) {
      if (!keyframe) {
        ++counters_.fragments_skipped;
        return Pushed::kQueued;
      }
      waiting_for_key_ = false;
    }
    if (queued_ + fragment->size() > queue_bytes_) {
      // Behind by more than the queue holds: what is queued is stale anyway. Empty it (the init
      // segment, kept apart, is never skipped) and resume at a keyframe, the first place a
      // decoder can start again.
      ++counters_.skips;
      ++overflows_since_pull_;
      counters_.fragments_skipped += static_cast<int64_t>(queue_.size());
      queue_.clear();
      queued_ = 0;
      if (overflows_since_pull_ >= max_overflows_) {
        // It takes nothing at all: stop queueing for it. Its connection ends when the write in
        // progress times out or the client closes.
        counters_.dropped = true;
        ended_ = true;
        return Pushed::kDropped;
      }
      result = Pushed::kSkipped;
      if (!keyframe) {
        waiting_for_key_ = true;
        ++counters_.fragments_skipped;
        return result;
      }
    }
    queued_ += fragment->size();
    queue_.push_back(std::move(fragment));
    if (!ready_) return result;
    ready = std::move(ready_);
    ready_ = nullptr;
    out = take_locked();
  }
  ready(std::move(out));
  return result;
}

void LiveViewer::end() {
  std::function<void(Chunks)> ready;
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    if (!ready_ || !queue_.empty() || init_) return;
    ready = std::move(ready_);
    ready_ = nullptr;
  }
  ready({});
}

bool LiveViewer::ended() const {
  std::lock_guard lock(mu_);
  return ended_;
}

LiveViewer::Counters LiveViewer::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void LiveViewer::on_close(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_close_ = std::move(fn);
}

void LiveViewer::pull(std::function<void(Chunks)> ready) {
  Chunks out;
  {
    std::lock_guard lock(mu_);
    overflows_since_pull_ = 0;
    if (queue_.empty() && !init_ && !ended_) {
      ready_ = std::move(ready);
      return;
    }
    if (!counters_.dropped) out = take_locked();
  }
  ready(std::move(out));  // empty: ended
}

void LiveViewer::close() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    ended_ = true;
    queue_.clear();
    queued_ = 0;
    init_.reset();
    ready_ = nullptr;
    fn = std::move(on_close_);
  }
  if (fn) fn();
}

// ---- Muxer ---------------------------------------------------------------------------------

// FFmpeg's mp4 muxer writing into memory: frag_custom lets us cut a fragment after every frame;
// empty_moov makes the header a complete init segment; default_base_moof makes every fragment
// self-contained (offsets relative to its moof), which is what MediaSource needs.
class LiveHub::Muxer {
 public:
  Muxer(const std::string& camera_id, const StreamInfo& info) : camera_id_(camera_id) {
    int err = avformat_alloc_output_context2(&ctx_, nullptr, "mp4", nullptr);
    if (err < 0) fail("mp4 muxer", err);
    auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
    pb_ = avio_alloc_context(buffer, kAvioBufferSize, 1, &out_, nullptr, &append_cb, nullptr);
    if (!pb_) fail("avio", AVERROR(ENOMEM));
    ctx_->pb = pb_;
    ctx_->flags |= AVFMT_FLAG_CUSTOM_IO;
    AVStream* vs = avformat_new_stream(ctx_, nullptr);
    if (!vs) fail("new stream", AVERROR(ENOMEM));
    avcodec_parameters_copy(vs->codecpar, info.video.get());
    vs->codecpar->codec_tag = 0;
    vs->time_base = AVRational{1, 90000};
    in_tb_ = info.video_time_base;
    if (info.audio) {
      // The camera's AAC as a second track of the same fragments: one SourceBuffer in the
      // browser plays both, and each fragment interleaves the audio received since the previous
      // frame with that frame.
      AVStream* as = avformat_new_stream(ctx_, nullptr);
      if (!as) fail("new stream", AVERROR(ENOMEM));
      avcodec_parameters_copy(as->codecpar, info.audio.get());
      as->codecpar->codec_tag = 0;
      as->time_base = AVRational{1, info.audio->sample_rate > 0 ? info.audio->sample_rate : 48000};
      audio_tb_ = info.audio_time_base;
      audio_frame_ = av_rescale_q(info.audio->frame_size > 0 ? info.audio->frame_size : 1024,
                                  as->time_base, audio_tb_);
      has_audio_ = true;
    }
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof+skip_trailer", 0);
    av_dict_set(&opts, "video_track_timescale", "90000", 0);
    // A prft box (ISO/IEC 14496-12 §8.16.5) before each fragment: the wall time vigil wrote it,
    // so a player can show (and bench/live measures) how far behind live it is.
    av_dict_set(&opts, "write_prft", "wallclock", 0);
    err = avformat_write_header(ctx_, &opts);
    av_dict_free(&opts);
    if (err < 0) fail("init segment", err);
    avio_flush(pb_);
    init_ = std::move(out_);
    out_.clear();
  }
  ~Muxer() {
    if (pb_) {
      av_freep(&pb_->buffer);
      avio_context_free(&pb_);
    }
    if (ctx_) avformat_free_context(ctx_);
  }
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;

  const std::string& init() const { return init_; }

  // One audio frame in: it joins the next video frame's fragment. Audio before the first video
  // frame, or not after the previous one, is dropped (the fragments start at a keyframe).
  void audio(const AVPacket* in) {
    if (!has_audio_ || !first_dts_ || in->pts == AV_NOPTS_VALUE) return;
    // Both tracks' times count from the same instant (docs/design/ingest.md): the origin is
    // the first video frame's time.
    const int64_t pts = in->pts - av_rescale_q(*first_dts_, in_tb_, audio_tb_);
    if (pts < 0 || (last_audio_pts_ && pts <= *last_audio_pts_)) return;
    last_audio_pts_ = pts;
    PacketPtr pkt(av_packet_alloc());
    if (!pkt || av_packet_ref(pkt.get(), in) < 0) fail("packet", AVERROR(ENOMEM));
    pkt->stream_index = 1;
    pkt->dts = pkt->pts = pts;
    pkt->duration = in->duration > 0 ? in->duration : audio_frame_;
    av_packet_rescale_ts(pkt.get(), audio_tb_, ctx_->streams[1]->time_base);
    int err = av_write_frame(ctx_, pkt.get());
    if (err < 0) fail("audio frame", err);
  }

  // One frame in, one fragment out ("" when the frame has no usable timestamp).
  std::string fragment(const AVPacket* in) {
    int64_t dts = in->dts != AV_NOPTS_VALUE ? in->dts : in->pts;
    int64_t pts = in->pts != AV_NOPTS_VALUE ? in->pts : dts;
    if (dts == AV_NOPTS_VALUE) return {};
    if (!first_dts_) first_dts_ = dts;
    if (last_dts_ && dts <= *last_dts_) return {};  // the muxer refuses non-increasing DTS
    // The frame's duration is not known until the next one arrives; waiting for it would add a
    // frame interval of latency, so use the previous interval. Each fragment's tfdt carries the
    // exact decode time, so an estimate never accumulates drift.
    int64_t duration = in->duration > 0 ? in->duration : last_interval_;
    // Intervals over a second are gaps (nobody watched for a while), not frame intervals.
    if (last_dts_ && dts - *last_dts_ <= av_rescale_q(90000, AVRational{1, 90000}, in_tb_)) {
      last_interval_ = dts - *last_dts_;
    }
    if (duration <= 0)
      duration =
          last_interval_ > 0 ? last_interval_ : av_rescale_q(3600, AVRational{1, 90000}, in_tb_);
    last_dts_ = dts;
    PacketPtr pkt(av_packet_alloc());
    if (!pkt || av_packet_ref(pkt.get(), in) < 0) fail("packet", AVERROR(ENOMEM));
    pkt->stream_index = 0;
    pkt->dts = dts - *first_dts_;
    pkt->pts = pts - *first_dts_;
    pkt->duration = duration;
    av_packet_rescale_ts(pkt.get(), in_tb_, ctx_->streams[0]->time_base);
    int err = av_write_frame(ctx_, pkt.get());
    if (err < 0) fail("frame", err);
    err = av_write_frame(ctx_, nullptr);  // frag_custom: this frame is a fragment
    if (err < 0) fail("fragment", err);
    avio_flush(pb_);
    std::string f = std::move(out_);
    out_.clear();
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& what, int err) {
    throw Error(ErrorCode::kInternal,
                "live " + camera_id_ + ": remux " + what + ": " + av_error_text(err));
  }

  std::string camera_id_;
  AVFormatContext* ctx_ = nullptr;
  AVIOContext* pb_ = nullptr;
  AVRational in_tb_{1, 90000};
  bool has_audio_ = false;
  AVRational audio_tb_{1, 48000};
  int64_t audio_frame_ = 1024;  // an AAC frame's duration in audio_tb_, when a packet has none
  std::optional<int64_t> last_audio_pts_;
  std::string out_;
  std::string init_;
  std::optional<int64_t> first_dts_;
  std::optional<int64_t> last_dts_;
  int64_t last_interval_ = 0;
};

// ---- LiveHub -------------------------------------------------------------------------------

LiveHub::LiveHub(std::string camera_id, LiveHubOptions options)
    : camera_id_(std::move(camera_id)), options_(options) {}

LiveHub::~LiveHub() { end_viewers(); }

void LiveHub::on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime) {
  std::unique_ptr<Muxer> m;
  try {
    m = std::make_unique<Muxer>(camera_id_, *info);
  } catch (const Error& e) {
    spdlog::warn("{}; no live view for this connection", e.what());
  }
  std::lock_guard lock(mu_);
  muxer_ = std::move(m);
  info_ = info;
  if (muxer_) {
    init_ = std::make_shared<const std::string>(muxer_->init());
    mime_ = mse_mime_type(*init_, info->audio.get());
  }
  gop_packets_.clear();
  gop_.clear();
  gop_bytes_ = 0;
  gop_complete_ = false;
  keyframe_.reset();
  totals_.streaming = true;
  totals_.codec = info->video_codec_name();
}

void LiveHub::on_packet(const MediaPacket& p) {
  const bool audio = p.track == TrackKind::kAudio;
  const bool key = !audio && (p.pkt->flags & AV_PKT_FLAG_KEY) != 0;
  // A reference (a copy only if ingest's buffer is not refcounted): the current GOP is kept as
  // packets and remuxed only when someone watches.
  std::shared_ptr<const AVPacket> pkt = clone_packet(p.pkt);
  if (!pkt) return;
  std::lock_guard lock(mu_);
  if (audio && (!info_ || !info_->audio)) return;  // audio ingest could not describe
  if (key) {
    keyframe_ = pkt;
    ++keyframe_seq_;
    gop_packets_.clear();
    gop_.clear();
    gop_bytes_ = 0;
    gop_complete_ = true;
  }
  bool cached = false;
  if (gop_complete_) {
    if (gop_bytes_ + static_cast<size_t>(pkt->size) > options_.gop_cache_bytes) {
      gop_packets_.clear();
      gop_.clear();
      gop_bytes_ = 0;
      gop_complete_ = false;
    } else {
      gop_bytes_ += static_cast<size_t>(pkt->size);
      gop_packets_.push_back({pkt, audio});
      cached = true;
    }
  }
  if (!muxer_) return;
  std::erase_if(viewers_, [](const std::weak_ptr<LiveViewer>& w) {
    auto v = w.lock();
    return !v || v->ended();
  });
  // Nobody watching: no remux at all, so live view costs recording nothing until it is used.
  if (viewers_.empty()) return;
  std::shared_ptr<const std::string> frag;
  if (cached) {
    if (!mux_gop_locked()) return;
    frag = gop_.back();
  } else {
    frag = mux_locked({pkt, audio});
  }
  if (!frag) return;
  size_t live = 0;
  for (auto& w : viewers_) {
    auto v = w.lock();
    if (!v) continue;
    switch (v->push(frag, key)) {
      case LiveViewer::Pushed::kQueued:
        break;
      case LiveViewer::Pushed::kSkipped:
        ++totals_.skips_total;
        break;
      case LiveViewer::Pushed::kDropped:
        ++totals_.skips_total;
        ++totals_.drops_total;
        break;
      case LiveViewer::Pushed::kEnded:
        continue;
    }
    if (!v->ended()) viewers_[live++] = w;
  }
  viewers_.resize(live);
}

std::shared_ptr<const std::string> LiveHub::mux_locked(const GopPacket& p) {
  if (!muxer_) return nullptr;
  std::string bytes;
  try {
    // An audio frame yields no fragment of its own: it goes out with the next video frame.
    if (p.audio) {
      muxer_->audio(p.pkt.get());
    } else {
      bytes = muxer_->fragment(p.pkt.get());
    }
  } catch (const Error& e) {
    spdlog::warn("{}; live view stops until the camera reconnects", e.what());
    muxer_.reset();
    end_viewers_locked();
    return nullptr;
  }
  if (bytes.empty()) return nullptr;
  ++totals_.fragments_total;
  return std::make_shared<const std::string>(std::move(bytes));
}

bool LiveHub::mux_gop_locked() {
  // gop_[i] is the fragment of gop_packets_[i] (null when the muxer had to skip the frame).
  while (gop_.size() < gop_packets_.size()) {
    gop_.push_back(mux_locked(gop_packets_[gop_.size()]));
    if (!muxer_) return false;
  }
  return true;
}

void LiveHub::on_stream_end(const std::string&, WallTime) {
  std::lock_guard lock(mu_);
  end_viewers_locked();
  muxer_.reset();
  info_.reset();
  init_.reset();
  mime_.clear();
  gop_packets_.clear();
  gop_.clear();
  gop_bytes_ = 0;
  gop_complete_ = false;
  keyframe_.reset();
  totals_.streaming = false;
  totals_.codec.clear();
}

void LiveHub::end_viewers() {
  std::lock_guard lock(mu_);
  end_viewers_locked();
}

void LiveHub::end_viewers_locked() {
  for (auto& w : viewers_) {
    if (auto v = w.lock()) v->end();
  }
  viewers_.clear();
}

std::optional<LiveHub::Attached> LiveHub::attach() {
  std::lock_guard lock(mu_);
  if (!muxer_ || !init_) return std::nullopt;
  auto v = std::make_shared<LiveViewer>(init_, options_.viewer_queue_bytes, options_.max_overflows);
  // Without a whole GOP the viewer waits for the next keyframe (push skips until one).
  if (gop_complete_ && !gop_packets_.empty()) {
    if (!mux_gop_locked()) return std::nullopt;
    // Fragments skipped by the muxer are null; the first one must be the keyframe's.
    if (gop_.front()) {
      for (size_t i = 0; i < gop_.size(); ++i) {
        if (gop_[i]) v->push(gop_[i], i == 0);
      }
    } else {
      v->wait_for_keyframe();
    }
  } else {
    v->wait_for_keyframe();
  }
  viewers_.push_back(v);
  ++totals_.viewers_total;
  return Attached{v, mime_};
}

std::string LiveHub::codec() const {
  std::lock_guard lock(mu_);
  return totals_.codec;
}

std::optional<LiveHub::Keyframe> LiveHub::latest_keyframe() const {
  std::lock_guard lock(mu_);
  if (!info_ || !keyframe_) return std::nullopt;
  return Keyframe{info_, keyframe_, keyframe_seq_};
}

LiveStats LiveHub::stats() const {
  std::lock_guard lock(mu_);
  LiveStats s = totals_;
  s.viewers = 0;
  for (const auto& w : viewers_) {
    if (auto v = w.lock(); v && !v->ended()) ++s.viewers;
  }
  return s;
}

std::string mse_mime_type(const std::string& init, const AVCodecParameters* audio) {
  std::string video = mse_video_codec(init);
  if (video.empty()) return "";
  if (audio && audio->codec_id == AV_CODEC_ID_AAC) {
    // mp4a.40.<audio object type> (RFC 6381 §3.3): the AudioSpecificConfig's first five bits
    // (ISO/IEC 14496-3 §1.6.2.1); 2 (AAC-LC) is what cameras and FFmpeg's encoder send.
    int aot = 2;
    if (audio->extradata_size > 0 && (audio->extradata[0] >> 3) != 0 &&
        (audio->extradata[0] >> 3) != 31) {
      aot = audio->extradata[0] >> 3;
    }
    video += ",mp4a.40." + std::to_string(aot);
  }
  return "video/mp4; codecs=\"" + video + "\"";
}

std::string mse_video_codec(const std::string& init) {
  if (auto at = init.find("avcC"); at != std::string::npos && at + 8 <= init.size()) {
    // AVCDecoderConfigurationRecord: configurationVersion, AVCProfileIndication,
    // profile_compatibility, AVCLevelIndication (ISO/IEC 14496-15 §5.3.3.1).
    char codec[32];
    std::snprintf(
        codec, sizeof codec, "avc1.%02x%02x%02x", static_cast<unsigned char>(init[at + 5]),
        static_cast<unsigned char>(init[at + 6]), static_cast<unsigned char>(init[at + 7]));
    return codec;
  }
  if (init.find("hvcC") != std::string::npos) return "hvc1";
  return "";
}

}  // namespace vigil
