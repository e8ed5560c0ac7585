// G.711 → AAC on ingest (see audio_transcoder.h).
#include "ingest/audio_transcoder.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

extern "C" {
#include <libavutil/audio_fifo.h>
}

#include "core/error.h"

namespace vigil {
namespace {

// AAC-LC at 24 kbit/s per channel: speech from an 8 kHz microphone loses nothing audible, and
// a 128 ms frame is ~350 bytes.
constexpr int64_t kBitRatePerChannel = 24000;

}  // namespace

bool is_g711(const AVCodecParameters& par) {
  return par.codec_id == AV_CODEC_ID_PCM_MULAW || par.codec_id == AV_CODEC_ID_PCM_ALAW;
}

AudioTranscoder::AudioTranscoder(std::string camera_id, const AVCodecParameters& in,
                                 AVRational in_time_base)
    : camera_id_(std::move(camera_id)), in_time_base_(in_time_base) {
  if (!is_g711(in) || in.sample_rate <= 0 || in.ch_layout.nb_channels <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "camera " + camera_id_ + ": audio " + avcodec_get_name(in.codec_id) +
                    " cannot be converted to AAC (only G.711 PCMU/PCMA can)");
  }
  try {
    open(in, in_time_base);
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

void AudioTranscoder::open(const AVCodecParameters& in, AVRational in_time_base) {
  const AVCodec* dec = avcodec_find_decoder(in.codec_id);
  const AVCodec* enc = avcodec_find_encoder_by_name("aac");
  if (!dec || !enc) fail("no G.711 decoder or AAC encoder in this FFmpeg", AVERROR_DECODER_NOT_FOUND);
  dec_ = avcodec_alloc_context3(dec);
  enc_ = avcodec_alloc_context3(enc);
  decoded_ = av_frame_alloc();
  frame_ = av_frame_alloc();
  if (!dec_ || !enc_ || !decoded_ || !frame_) fail("allocate", AVERROR(ENOMEM));
  int err = avcodec_parameters_to_context(dec_, &in);
  dec_->pkt_timebase = in_time_base;
  if (err >= 0) err = avcodec_open2(dec_, dec, nullptr);
  if (err < 0) fail("open the G.711 decoder", err);

  enc_->sample_rate = in.sample_rate;
  enc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&enc_->ch_layout, in.ch_layout.nb_channels);
  enc_->bit_rate = kBitRatePerChannel * in.ch_layout.nb_channels;
  enc_->time_base = AVRational{1, in.sample_rate};
  // The AudioSpecificConfig goes in the MP4 sample entry, not in each packet.
  enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  err = avcodec_open2(enc_, enc, nullptr);
  if (err < 0) fail("open the AAC encoder at " + std::to_string(in.sample_rate) + " Hz", err);
  out_.reset(avcodec_parameters_alloc());
  if (!out_) fail("allocate", AVERROR(ENOMEM));
  err = avcodec_parameters_from_context(out_.get(), enc_);
  if (err < 0) fail("encoder parameters", err);

  frame_->nb_samples = enc_->frame_size;
  frame_->format = enc_->sample_fmt;
  frame_->sample_rate = enc_->sample_rate;
  err = av_channel_layout_copy(&frame_->ch_layout, &enc_->ch_layout);
  if (err >= 0) err = av_frame_get_buffer(frame_, 0);
  fifo_ = av_audio_fifo_alloc(enc_->sample_fmt, enc_->ch_layout.nb_channels, enc_->frame_size);
  if (err < 0 || !fifo_) fail("allocate", err < 0 ? err : AVERROR(ENOMEM));
  time_base_ = enc_->time_base;
}

AudioTranscoder::~AudioTranscoder() { release(); }

void AudioTranscoder::release() {
  if (fifo_) av_audio_fifo_free(fifo_);
  fifo_ = nullptr;
  av_frame_free(&frame_);
  av_frame_free(&decoded_);
  avcodec_free_context(&enc_);
  avcodec_free_context(&dec_);
}

void AudioTranscoder::fail(const std::string& what, int err) const {
  throw Error(ErrorCode::kInternal,
              "camera " + camera_id_ + ": G.711 to AAC: " + what + ": " + av_error_text(err));
}

void AudioTranscoder::push(const AVPacket& in, std::vector<PacketPtr>& out) {
  int err = avcodec_send_packet(dec_, &in);
  if (err < 0) fail("decode", err);
  const int channels = enc_->ch_layout.nb_channels;
  for (;;) {
    err = avcodec_receive_frame(dec_, decoded_);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
    if (err < 0) fail("decode", err);
    const int n = decoded_->nb_samples;
    const int64_t pts = decoded_->pts != AV_NOPTS_VALUE
                            ? av_rescale_q(decoded_->pts, in_time_base_, time_base_)
                            : fifo_pts_ + av_audio_fifo_size(fifo_);
    // Samples are timed by counting from the first one in the FIFO; a jump (lost packets, a
    // camera that restarted its clock) of more than 100 ms starts counting afresh, dropping the
    // partial frame rather than stretching time.
    const int64_t expected = fifo_pts_ + av_audio_fifo_size(fifo_);
    if (av_audio_fifo_size(fifo_) == 0 || std::llabs(pts - expected) > enc_->sample_rate / 10) {
      av_audio_fifo_reset(fifo_);
      fifo_pts_ = pts;
    }
    // The decoder gives interleaved 16-bit samples; the encoder takes planar floats.
    std::vector<float> planes(static_cast<size_t>(n) * static_cast<size_t>(channels));
    const auto* s16 = reinterpret_cast<const int16_t*>(decoded_->data[0]);
    std::vector<void*> ptrs(static_cast<size_t>(channels));
    for (int c = 0; c < channels; ++c) {
      float* plane = planes.data() + static_cast<size_t>(c) * static_cast<size_t>(n);
      for (int i = 0; i < n; ++i) plane[i] = static_cast<float>(s16[i * channels + c]) / 32768.0f;
      ptrs[static_cast<size_t>(c)] = plane;
    }
    av_frame_unref(decoded_);
    if (av_audio_fifo_write(fifo_, ptrs.data(), n) < n) fail("buffer", AVERROR(ENOMEM));
    while (av_audio_fifo_size(fifo_) >= enc_->frame_size) {
      err = av_frame_make_writable(frame_);
      if (err < 0) fail("buffer", err);
      av_audio_fifo_read(fifo_, reinterpret_cast<void**>(frame_->data), enc_->frame_size);
      const int64_t frame_pts = fifo_pts_;
      fifo_pts_ += enc_->frame_size;
      // A camera clock that went back: drop until time moves forward again.
      if (frame_pts < next_pts_) continue;
      frame_->pts = frame_pts;
      next_pts_ = frame_pts + enc_->frame_size;
      encode(frame_, out);
    }
  }
}

void AudioTranscoder::encode(AVFrame* frame, std::vector<PacketPtr>& out) {
  int err = avcodec_send_frame(enc_, frame);
  if (err < 0) fail("encode", err);
  for (;;) {
    PacketPtr pkt = make_packet();
    err = avcodec_receive_packet(enc_, pkt.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
    if (err < 0) fail("encode", err);
    out.push_back(std::move(pkt));
  }
}

// ---- TranscodingSource ---------------------------------------------------------------------

TranscodingSource::TranscodingSource(std::string camera_id, std::unique_ptr<MediaSource> inner)
    : camera_id_(std::move(camera_id)), inner_(std::move(inner)) {}

std::shared_ptr<const StreamInfo> TranscodingSource::open() {
  transcoder_.reset();
  drop_audio_ = false;
  ready_.clear();
  next_ready_ = 0;
  std::shared_ptr<const StreamInfo> in = inner_->open();
  if (!in->audio || !is_g711(*in->audio)) return in;
  auto info = std::make_shared<StreamInfo>();
  info->video.reset(avcodec_parameters_alloc());
  if (!info->video || avcodec_parameters_copy(info->video.get(), in->video.get()) < 0) {
    throw Error(ErrorCode::kResourceExhausted, "camera " + camera_id_ + ": out of memory");
  }
  info->video_time_base = in->video_time_base;
  try {
    transcoder_ = std::make_unique<AudioTranscoder>(camera_id_, *in->audio, in->audio_time_base);
    info->audio.reset(avcodec_parameters_alloc());
    if (!info->audio || avcodec_parameters_copy(info->audio.get(), &transcoder_->output()) < 0) {
      throw Error(ErrorCode::kResourceExhausted, "camera " + camera_id_ + ": out of memory");
    }
    info->audio_time_base = transcoder_->time_base();
  } catch (const Error& e) {
    spdlog::warn("{}; recording video without audio", e.what());
    transcoder_.reset();
    info->audio.reset();
    drop_audio_ = true;
    info->audio_skipped = std::string(avcodec_get_name(in->audio->codec_id)) +
                          " audio is not recorded: " + e.what();
  }
  return info;
}

bool TranscodingSource::read(AVPacket* pkt, TrackKind& track) {
  for (;;) {
    if (next_ready_ < ready_.size()) {
      av_packet_move_ref(pkt, ready_[next_ready_++].get());
      track = TrackKind::kAudio;
      return true;
    }
    ready_.clear();
    next_ready_ = 0;
    if (!inner_->read(pkt, track)) return false;
    if (track != TrackKind::kAudio || (!transcoder_ && !drop_audio_)) return true;
    if (transcoder_) {
      try {
        transcoder_->push(*pkt, ready_);
      } catch (const Error& e) {
        // The camera's video must not suffer for its audio: audio stops until it reconnects.
        spdlog::warn("{}; audio off until the camera reconnects", e.what());
        transcoder_.reset();
        drop_audio_ = true;
        ready_.clear();
      }
    }
    av_packet_unref(pkt);
  }
}

}  // namespace vigil
