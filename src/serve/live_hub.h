// Live view of one camera: a PacketSink on the camera's ingest thread that remuxes (never
// transcodes) the video and its AAC audio into fragmented MP4 (ISO/IEC 14496-12 §8.8) — an init segment per
// stream start, then one moof+mdat fragment per frame, written as soon as the frame arrives —
// and fans the fragments out to any number of viewers. One camera connection serves everyone.
//
// The hub keeps the init segment and the fragments since the latest keyframe, so a new viewer
// starts at once, at that keyframe. Each viewer has a bounded queue (LiveViewer): a viewer that
// falls behind has its queue emptied and resumes at the next keyframe; one that keeps falling
// behind without reading is dropped. The camera thread never waits for a viewer: on_packet does
// one remux and, per viewer, a push of a shared pointer under a short lock. With no viewer it
// does no remux at all: it only keeps references to the current GOP's packets.
//
// A viewer's stream ends when the camera's stream ends (the player reconnects and gets the new
// init segment), so a stream never mixes two connections' timestamps.
// Thread-safe: the sink side runs on the camera thread; attach(), stats() and snapshot access
// run on HTTP threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ingest/media.h"
#include "serve/http.h"

namespace vigil {

struct LiveHubOptions {
  // What one viewer may have queued before it is skipped to the next keyframe. ~4 s of a
  // 4 Mbit/s camera: more than any healthy connection needs, little memory for 50 viewers.
  size_t viewer_queue_bytes = 4 * 1024 * 1024;
  // A viewer that overflows this many times without taking anything in between is dropped.
  int max_overflows = 3;
  // The current GOP is kept for new viewers up to this size (a camera with a huge GOP makes new
  // viewers wait for the next keyframe instead).
  size_t gop_cache_bytes = 4 * 1024 * 1024;
};

// One viewer's queue of fragments; the BodyStream the HTTP server pulls from.
class LiveViewer : public http::BodyStream {
 public:
  struct Counters {
    int64_t skips = 0;              // times the queue overflowed and was emptied
    int64_t fragments_skipped = 0;  // fragments never sent because of those skips
    bool dropped = false;           // ended by the hub for not reading
  };

  // `init` is the init segment, sent first and never skipped.
  LiveViewer(std::shared_ptr<const std::string> init, size_t queue_bytes, int max_overflows);
  // Queue nothing until the next keyframe (a new viewer when no whole GOP is cached).
  void wait_for_keyframe();
  enum class Pushed {
    kQueued,   // queued, or skipped while waiting for a keyframe
    kSkipped,  // the queue overflowed: emptied, resuming at a keyframe
    kDropped,  // overflowed too often without a pull: ended
    kEnded,    // the viewer had ended already
  };
  // Hub side. `keyframe` says whether the fragment starts with one (a viewer can resume there).
  Pushed push(std::shared_ptr<const std::string> fragment, bool keyframe);
  // Hub side: no more fragments; the viewer gets what is queued, then the end.
  void end();
  bool ended() const;
  Counters counters() const;
  // Set once by whoever serves the viewer: runs once, from close() (audit of the stop).
  void on_close(std::function<void()> fn);

  void pull(std::function<void(Chunks)> ready) override;
  void close() override;

 private:
  Chunks take_locked();

  const size_t queue_bytes_;
  const int max_overflows_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> init_;  // until taken
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_ = 0;
  bool waiting_for_key_ = false;
  int overflows_since_pull_ = 0;
  bool ended_ = false;
  bool closed_ = false;
  Counters counters_;
  std::function<void(Chunks)> ready_;
  std::function<void()> on_close_;
};

struct LiveStats {
  int viewers = 0;
  int64_t viewers_total = 0;    // viewers ever attached
  int64_t skips_total = 0;      // viewer queue overflows, all viewers
  int64_t drops_total = 0;      // viewers dropped for not reading
  int64_t fragments_total = 0;  // fragments produced
  bool streaming = false;
  std::string codec;  // "h264", "hevc", "" when no stream
};

class LiveHub : public PacketSink {
 public:
  explicit LiveHub(std::string camera_id, LiveHubOptions options = {});
  ~LiveHub() override;

  void on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) override;
  void on_packet(const MediaPacket& p) override;
  void on_stream_end(const std::string& reason, WallTime now) override;

  struct Attached {
    std::shared_ptr<LiveViewer> viewer;
    std::string mime;  // for MediaSource.isTypeSupported: video/mp4; codecs="avc1.640028"
  };
  // A new viewer, already holding the init segment and the current GOP. nullopt while the camera
  // is not streaming. The caller checks the codec (codec()) before: browsers cannot play H.265.
  std::optional<Attached> attach();
  std::string codec() const;  // of the current stream; "" when none

  // The latest keyframe (Annex B, video time base) and the parameters to decode it, for
  // snapshots; `seq` changes with every keyframe. nullopt while not streaming.
  struct Keyframe {
    std::shared_ptr<const StreamInfo> info;
    std::shared_ptr<const AVPacket> packet;
    uint64_t seq = 0;
  };
  std::optional<Keyframe> latest_keyframe() const;

  LiveStats stats() const;
  const std::string& camera_id() const { return camera_id_; }

 private:
  class Muxer;
  void end_viewers();
  void end_viewers_locked();
  // Remuxes one frame (null when the muxer skips it or fails; a failure ends live view until
  // the next stream). mux_gop_locked() remuxes the cached packets not yet remuxed; false when
  // the muxer failed.
  struct GopPacket {
    std::shared_ptr<const AVPacket> pkt;
    bool audio = false;
  };
  std::shared_ptr<const std::string> mux_locked(const GopPacket& p);
  bool mux_gop_locked();

  const std::string camera_id_;
  const LiveHubOptions options_;
  std::unique_ptr<Muxer> muxer_;  // under mu_: the camera thread and attach() use it
  mutable std::mutex mu_;
  std::shared_ptr<const StreamInfo> info_;
  std::string mime_;
  std::shared_ptr<const std::string> init_;
  // The packets from the latest keyframe on, and the fragments of those remuxed so far: remuxing
  // happens only while someone watches (attach() catches up).
  std::vector<GopPacket> gop_packets_;
  std::vector<std::shared_ptr<const std::string>> gop_;
  size_t gop_bytes_ = 0;
  bool gop_complete_ = false;  // gop_ starts at a keyframe and was not cut by its size cap
  std::vector<std::weak_ptr<LiveViewer>> viewers_;
  std::shared_ptr<const AVPacket> keyframe_;
  uint64_t keyframe_seq_ = 0;
  LiveStats totals_;
};

// The MSE type of an fMP4 init segment, from its video sample entry: avc1.PPCCLL for H.264
// (RFC 6381 §3.3, ISO/IEC 14496-15 avcC), hvc1 for H.265, plus mp4a.40.N when `audio` (the
// stream's AAC track, if any) is in it. "" when no video sample entry is found.
std::string mse_mime_type(const std::string& init_segment,
                          const AVCodecParameters* audio = nullptr);
// Just the video codec: "avc1.64001f", "hvc1", "".
std::string mse_video_codec(const std::string& init_segment);

}  // namespace vigil
