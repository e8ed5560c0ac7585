// libavformat's RTSP client behind MediaSource. Every blocking call runs under a deadline that
// the interrupt callback enforces, so a camera that stops talking (or a port that answers with
// garbage, or a server that never answers) cannot hang its thread.
#include <cstdio>
#include <cstring>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
}

#include "core/error.h"
#include "core/redact.h"
#include "ingest/media_source.h"

namespace vigil {
namespace {

bool storable_audio(AVCodecID id) {
  // The MP4 muxer and browsers take AAC; G.711 (PCMU/PCMA), the usual camera audio, is neither
  // storable in MP4 by FFmpeg nor playable in browsers, so it is skipped (and said so).
  return id == AV_CODEC_ID_AAC;
}

}  // namespace

LibavRtspSource::LibavRtspSource(std::string url, RtspTransport transport,
                       std::chrono::milliseconds io_timeout, const Clock& clock)
    : url_(std::move(url)), transport_(transport), io_timeout_(io_timeout), clock_(clock) {}

LibavRtspSource::~LibavRtspSource() {
  if (ctx_) avformat_close_input(&ctx_);
}

int LibavRtspSource::interrupt_cb(void* p) {
  auto* self = static_cast<LibavRtspSource*>(p);
  if (self->interrupted_) return 1;
  const int64_t deadline = self->deadline_ns_.load();
  if (deadline != 0 && self->clock_.steady_now().time_since_epoch().count() > deadline) {
    self->timed_out_ = true;
    return 1;
  }
  return 0;
}

std::string LibavRtspSource::describe_av_error(int err) const {
  if (interrupted_) return "stopped";
  if (timed_out_) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "no answer for %.1f s", deadline_span_.count() / 1000.0);
    return buf;
  }
  switch (err) {
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR(EACCES):
    case AVERROR(EPERM):
      return "unauthorized (401): check the user name and password in the URL";
    case AVERROR_HTTP_NOT_FOUND:
      return "not found (404): check the stream path in the URL";
    case AVERROR(ECONNREFUSED):
      return "connection refused: nothing listens on that address and port";
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
      return "host unreachable";
    case AVERROR_INVALIDDATA:
      return "the camera's answer is not valid RTSP/RTP (" + av_error_text(err) + ")";
    default:
      return redact_in_text(av_error_text(err), url_);
  }
}

std::shared_ptr<const StreamInfo> LibavRtspSource::open() {
  ctx_ = avformat_alloc_context();
  if (!ctx_) throw Error(ErrorCode::kResourceExhausted, "out of memory");
  ctx_->interrupt_callback.callback = &LibavRtspSource::interrupt_cb;
  ctx_->interrupt_callback.opaque = this;
  timed_out_ = false;

  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "rtsp_transport", transport_ == RtspTransport::kTcp ? "tcp" : "udp", 0);
  // Socket I/O timeout in microseconds (FFmpeg ≥ 5: "timeout" for RTSP). Only a backstop: our
  // own deadlines (interrupt_cb) are shorter, so a silent camera is reported as such rather
  // than as FFmpeg's generic "invalid data".
  av_dict_set_int(&opts, "timeout",
                  std::chrono::duration_cast<std::chrono::microseconds>(io_timeout_ * 2).count() +
                      1'000'000,
                  0);
  // Bounded probing: some cameras announce an audio track and never send it.
  av_dict_set_int(&opts, "analyzeduration", 2'000'000, 0);
  av_dict_set_int(&opts, "probesize", 2'000'000, 0);
  if (transport_ == RtspTransport::kUdp) {
    av_dict_set_int(&opts, "buffer_size", 4 << 20, 0);  // survive batched reads
    av_dict_set_int(&opts, "reorder_queue_size", 64, 0);
  }
  auto set_deadline = [this](std::chrono::milliseconds d) {
    deadline_span_ = d;
    deadline_ns_ = (clock_.steady_now() + d).time_since_epoch().count();
  };

  set_deadline(io_timeout_ * 2);
  int err = avformat_open_input(&ctx_, with_encoded_userinfo(url_).c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) {
    // avformat_open_input frees the context on failure.
    ctx_ = nullptr;
    throw Error(err == AVERROR_HTTP_UNAUTHORIZED || err == AVERROR(EACCES)
                    ? ErrorCode::kUnauthenticated
                    : ErrorCode::kUnavailable,
                "open " + redact_url(url_) + ": " + describe_av_error(err));
  }
  set_deadline(io_timeout_ * 2);
  err = avformat_find_stream_info(ctx_, nullptr);
  if (err < 0) {
    throw Error(ErrorCode::kUnavailable,
                "probe " + redact_url(url_) + ": " + describe_av_error(err));
  }
  deadline_ns_ = 0;

  auto info = std::make_shared<StreamInfo>();
  video_index_ = av_find_best_stream(ctx_, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (video_index_ < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                redact_url(url_) + ": the stream has no video track");
  }
  const AVStream* vs = ctx_->streams[video_index_];
  if (vs->codecpar->codec_id != AV_CODEC_ID_H264 && vs->codecpar->codec_id != AV_CODEC_ID_HEVC) {
    throw Error(ErrorCode::kInvalidArgument,
                redact_url(url_) + ": video codec " +
                    avcodec_get_name(vs->codecpar->codec_id) +
                    " is not supported (vigil records H.264 and H.265)");
  }
  info->video.reset(avcodec_parameters_alloc());
  avcodec_parameters_copy(info->video.get(), vs->codecpar);
  info->video_time_base = vs->time_base;

  audio_index_ = av_find_best_stream(ctx_, AVMEDIA_TYPE_AUDIO, -1, video_index_, nullptr, 0);
  if (audio_index_ >= 0) {
    const AVStream* as = ctx_->streams[audio_index_];
    if (storable_audio(as->codecpar->codec_id) && as->codecpar->sample_rate > 0) {
      info->audio.reset(avcodec_parameters_alloc());
      avcodec_parameters_copy(info->audio.get(), as->codecpar);
      info->audio_time_base = as->time_base;
    } else {
      info->audio_skipped = std::string(avcodec_get_name(as->codecpar->codec_id)) +
                            " audio is not recorded (only AAC can be stored and played)";
      audio_index_ = -1;
    }
  }
  // Tell the demuxer not to bother with tracks we drop.
  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    if (static_cast<int>(i) != video_index_ && static_cast<int>(i) != audio_index_) {
      ctx_->streams[i]->discard = AVDISCARD_ALL;
    }
  }
  return info;
}

bool LibavRtspSource::read(AVPacket* pkt, TrackKind& track) {
  for (;;) {
    deadline_span_ = io_timeout_;
    deadline_ns_ = (clock_.steady_now() + io_timeout_).time_since_epoch().count();
    const int err = av_read_frame(ctx_, pkt);
    if (err == AVERROR_EOF) return false;
    if (err < 0) {
      throw Error(ErrorCode::kUnavailable, "read " + redact_url(url_) + ": " + describe_av_error(err));
    }
    if (pkt->stream_index == video_index_) {
      track = TrackKind::kVideo;
      return true;
    }
    if (pkt->stream_index == audio_index_) {
      track = TrackKind::kAudio;
      return true;
    }
    av_packet_unref(pkt);
  }
}

}  // namespace vigil
