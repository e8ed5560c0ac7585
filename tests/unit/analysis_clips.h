// Clips with known ground truth for the analysis tests: frames drawn with OpenCV (a textured
// still scene, sensor noise, an object, light changes, covering, blur, a shifted view), encoded
// to H.264 by the ffmpeg CLI at test time, demuxed with libavformat and fed packet by packet
// into a PacketSink with the wall times a live camera would have given them.
#pragma once

#include <opencv2/core.hpp>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "analyze/detection.h"
#include "ingest/media.h"
#include "test_support.h"

namespace vigil::test {

struct ClipSpec {
  int width = 640, height = 360, fps = 10, seconds = 12, gop = 20;
  // Extra x264 options, e.g. "-bf 2" for a stream with non-reference B-frames.
  std::string x264 = "-bf 0";
};

// Paints frame `index` (time `t` seconds) into `frame` (8-bit grey, spec size).
using Painter = std::function<void(int index, double t, cv::Mat& frame)>;

// Encodes the painted frames into `file` (H.264 in Matroska) and demuxes it. Throws on failure.
DemuxedClip make_scripted_clip(const std::filesystem::path& file, const ClipSpec& spec,
                               const Painter& paint);
// Demuxes the first video stream of any file.
DemuxedClip demux_file(const std::filesystem::path& file);

// A still textured scene (deterministic), larger than the frame so it can be shifted.
class Scene {
 public:
  Scene(int width, int height, uint64_t seed = 7);
  // The frame-sized view with its top-left corner at (dx, dy) of the margin-padded canvas.
  void view(cv::Mat& out, int dx = 0, int dy = 0) const;
  static void add_noise(cv::Mat& frame, double sigma, cv::RNG& rng);

 private:
  cv::Mat canvas_;
  int width_, height_;
};

// Keeps every result delivered (thread-safe) and wakes waiters.
class CollectingSink final : public AnalysisSink {
 public:
  struct Entry {
    WallTime at;
    std::vector<Detection> detections;
    bool has_snapshot = false;
  };
  void on_analysis(const AnalysisResult& r) override;
  std::vector<Entry> entries() const;
  // Waits (real time, bounded) until a result with `type` arrives; false on timeout.
  bool wait_for(DetectionType type, std::chrono::milliseconds limit);
  // The JPEG of the first result that had a picture.
  std::vector<uint8_t> first_snapshot() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  std::function<std::vector<uint8_t>()> first_snapshot_;
};

// Feeds the clip as a live camera would deliver it: the stream starts at `start`, each packet
// arrives at start + its media time (the clock is moved there first). `drain` is called after
// every packet so that the test is deterministic whatever the machine's speed.
// Packets [first_packet, end_packet) are fed; the stream starts (on_stream_start) with packet 0.
void feed_clip(PacketSink& sink, const DemuxedClip& clip, FakeClock& clock, WallTime start,
               const std::function<void()>& drain, int first_packet = 0, int end_packet = -1);

}  // namespace vigil::test
