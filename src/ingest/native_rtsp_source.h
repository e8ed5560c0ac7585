// vigil's own RTSP client for RTP over the RTSP TCP connection (interleaved), the transport
// cameras are recorded with by default. It exists for cost: libavformat's client makes two
// system calls per RTP packet, which is most of what recording a camera costs; this one reads
// whatever has arrived in one call per batch (docs/design/ingest.md has the figures). UDP
// transport and anything this client does not handle stay with LibavRtspSource.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "ingest/decode_timestamps.h"
#include "ingest/media_source.h"
#include "ingest/rtp_depacketizer.h"
#include "ingest/rtsp_connection.h"
#include "ingest/rtsp_auth.h"
#include "ingest/rtsp_url.h"

namespace vigil {

class NativeRtspSource final : public MediaSource {
 public:
  // Frames waiting to be read: a frame or a few normally, up to 1.5 s of a camera while open()
  // waits for its audio after the first keyframe (a 20 Mbit/s camera: under 4 MiB). A camera
  // that floods that wait beyond `max_ready_bytes` is disconnected rather than buffered.
  static constexpr size_t kMaxReadyBytes = size_t{64} << 20;

  NativeRtspSource(std::string url, std::chrono::milliseconds io_timeout,
                   std::chrono::milliseconds read_batch, const Clock& clock,
                   size_t max_ready_bytes = kMaxReadyBytes, bool allow_basic = false,
                   bool keep_g711 = false);
  ~NativeRtspSource() override;

  std::shared_ptr<const StreamInfo> open() override;
  bool read(AVPacket* pkt, TrackKind& track) override;
  void interrupt() override;
  bool batches_reads() const override { return true; }

 private:
  struct Track {
    TrackKind kind = TrackKind::kVideo;
    int rtp_channel = 0;
    std::string setup_url;
    std::unique_ptr<Depacketizer> depacketizer;
    std::optional<uint32_t> rtptime;  // from RTP-Info: the RTP time of the PLAY instant
    std::optional<int64_t> origin;    // unwrapped RTP time that is media time zero
  };
  struct Ready {
    TrackKind kind;
    CodecFrame frame;
  };

  std::shared_ptr<const StreamInfo> connect_and_describe();
  RtspMessage request(const std::string& method, const std::string& url,
                      const std::string& extra_headers);
  void send_request(const std::string& method, const std::string& url,
                    const std::string& extra_headers, int cseq);
  // Handles one frame from the connection; completed codec frames go to ready_.
  void on_frame(const InterleavedFrame& f);
  void keepalive_if_due();
  void fill_packet(Ready& r, AVPacket* pkt);

  std::string url_;
  RtspUrl parsed_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::milliseconds read_batch_;
  const Clock& clock_;
  RtspConnection conn_;
  std::atomic<bool> interrupted_{false};

  int cseq_ = 0;
  std::string session_;
  std::optional<AuthChallenge> auth_;
  unsigned nonce_count_ = 0;
  std::string cnonce_;
  bool get_parameter_ = false;  // the server lists GET_PARAMETER: use it as keepalive
  std::chrono::seconds keepalive_every_{30};
  SteadyTime next_keepalive_{};
  uint32_t packets_since_keepalive_check_ = 0;
  bool playing_ = false;
  std::string play_url_;

  std::vector<Track> tracks_;
  H26xDepacketizer* video_ = nullptr;  // owned by tracks_
  bool video_started_ = false;
  std::deque<Ready> ready_;
  size_t max_ready_bytes_;
  // Answer a Basic challenge (the password in clear) only when the camera's config says so.
  const bool allow_basic_;
  // G.711 audio is delivered (as pcm_mulaw/pcm_alaw) for a transcoder to turn into AAC
  // (ingest/audio_transcoder.h); otherwise it is skipped, since MP4 players cannot play it.
  const bool keep_g711_;
  size_t ready_bytes_ = 0;  // of the frames in ready_, at most max_ready_bytes_
  std::vector<CodecFrame> scratch_;
  AVRational video_clock_{1, 90000};
  DecodeTimestamps video_dts_;
};

}  // namespace vigil
