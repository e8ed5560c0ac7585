// The one normalized media type that ingest produces and every output consumes (recorder now;
// live view and analysis later). Outputs are PacketSinks and never know about each other.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <memory>
#include <string>

#include "core/time.h"

namespace vigil {

struct CodecParametersDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using CodecParametersPtr = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
PacketPtr make_packet();

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

// FFmpeg's text for an AVERROR code, for error messages.
std::string av_error_text(int err);

// What one connection to a camera delivers. Immutable once published; shared by sinks.
struct StreamInfo {
  CodecParametersPtr video;
  AVRational video_time_base{1, 90000};
  CodecParametersPtr audio;  // null unless the camera sends audio we can store (AAC)
  AVRational audio_time_base{1, 1};
  std::string audio_skipped;  // why audio is not recorded, e.g. "pcm_alaw is not storable in MP4"

  std::string video_codec_name() const;  // "h264", "hevc"
  // True when a file started with `other` can also hold this stream's packets.
  bool same_format(const StreamInfo& other) const;
};

enum class TrackKind { kVideo, kAudio };

struct MediaPacket {
  const AVPacket* pkt;  // timestamps in the track's time base; borrowed for the call only
  TrackKind track;
  WallTime received;    // host wall clock when it was read
};

// A consumer of one camera's stream. Called on the camera's ingest thread, so it must not block
// for long: a slow consumer queues (bounded) or drops, it never stalls the reader.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) = 0;
  virtual void on_packet(const MediaPacket& p) = 0;
  // The connection ended (error, camera gone, vigil stopping); `reason` is for people.
  virtual void on_stream_end(const std::string& reason, WallTime now) = 0;
};

}  // namespace vigil
