// G.711 (PCMU/PCMA) audio turned into AAC on ingest, for cameras configured with
// `audio = "aac"`: most cheap cameras send G.711, which MP4 files and browsers cannot play, and
// the recorder and live view handle AAC only. libavcodec's G.711 decoder, then FFmpeg's native
// `aac` encoder at the camera's sample rate (8 kHz mono: one packet of a few hundred bytes per
// 128 ms). TranscodingSource wraps a camera's MediaSource so that every sink sees an ordinary
// AAC track.
//
// A camera's audio never costs it its video: an encoder that cannot be opened, or that fails
// mid-stream, turns audio off for that camera (logged with its name) while video goes on.
// Memory is bounded: decoded samples wait only until they fill one AAC frame, and the AAC
// packets of one input packet are handed out before the next is read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ingest/media.h"
#include "ingest/media_source.h"

struct AVAudioFifo;

namespace vigil {

// True for the audio codecs AudioTranscoder takes.
bool is_g711(const AVCodecParameters& par);

class AudioTranscoder {
 public:
  // `in`: pcm_mulaw or pcm_alaw parameters, packets in `in_time_base`. Throws Error (naming the
  // camera) when the decoder or encoder cannot be opened, e.g. a sample rate AAC has not.
  AudioTranscoder(std::string camera_id, const AVCodecParameters& in, AVRational in_time_base);
  ~AudioTranscoder();
  AudioTranscoder(const AudioTranscoder&) = delete;
  AudioTranscoder& operator=(const AudioTranscoder&) = delete;

  // The AAC track (with its AudioSpecificConfig); packets come out in `time_base()`, on the
  // input's time line (the encoder's priming frame starts one frame before the first input).
  const AVCodecParameters& output() const { return *out_; }
  AVRational time_base() const { return time_base_; }

  // One G.711 packet in; the AAC packets it completes are appended to `out`. Throws Error
  // (naming the camera) when the decoder or encoder fails.
  void push(const AVPacket& in, std::vector<PacketPtr>& out);

 private:
  // The constructor's second half: decoder, encoder, frames and FIFO.
  void open(const AVCodecParameters& in, AVRational in_time_base);
  // Frees what open() made, as far as it got.
  void release();
  [[noreturn]] void fail(const std::string& what, int err) const;
  void encode(AVFrame* frame, std::vector<PacketPtr>& out);

  const std::string camera_id_;
  const AVRational in_time_base_;
  AVRational time_base_{1, 8000};  // the encoder's: 1 / sample rate
  AVCodecContext* dec_ = nullptr;
  AVCodecContext* enc_ = nullptr;
  AVFrame* decoded_ = nullptr;
  AVFrame* frame_ = nullptr;  // one AAC frame of planar float samples
  AVAudioFifo* fifo_ = nullptr;
  int64_t fifo_pts_ = 0;   // time of the first sample in fifo_
  int64_t next_pts_ = 0;   // the encoder's input times must increase
  CodecParametersPtr out_;
};

// A MediaSource whose G.711 audio comes out as AAC (when the transcoder opens; otherwise
// without audio, saying why in StreamInfo::audio_skipped). Everything else passes through.
class TranscodingSource final : public MediaSource {
 public:
  TranscodingSource(std::string camera_id, std::unique_ptr<MediaSource> inner);

  std::shared_ptr<const StreamInfo> open() override;
  bool read(AVPacket* pkt, TrackKind& track) override;
  void interrupt() override { inner_->interrupt(); }
  bool batches_reads() const override { return inner_->batches_reads(); }

 private:
  const std::string camera_id_;
  std::unique_ptr<MediaSource> inner_;
  std::unique_ptr<AudioTranscoder> transcoder_;
  bool drop_audio_ = false;  // the transcoder failed: audio off until the next connection
  std::vector<PacketPtr> ready_;  // AAC packets of the last G.711 packet, handed out first
  size_t next_ready_ = 0;
};

}  // namespace vigil
