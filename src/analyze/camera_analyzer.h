// The analysis of one camera stream: a PacketSink (beside the recorder and the live hub) that
// picks the packets worth decoding on the ingest thread, queues them (bounded: when full, packets
// are dropped and counted, and decoding resumes at the next keyframe; the ingest thread never
// waits), and on its own thread decodes, downscales, runs the detectors (motion, tamper, and any
// added later) and hands an AnalysisResult per analysed frame to the AnalysisSink. The same
// thread is the signal watchdog: no video packet for `signal_timeout` gives kSignalLost results
// (one per `watchdog_interval`) until packets come again.
//
// Feed it the camera's sub stream when there is one (sub_stream = true: every frame decoded,
// analysed at `fps`), else the main stream (keyframes while idle, every frame while something
// changes); either way, sustained motion is looked at for the start of each GOP only
// (FrameSelector; docs/design/analysis.md).
// Failures stay here: the thread ("ana:<camera>") is supervised (core/supervision.h); whatever
// a detector, the decoder or the sink throws (cv::Exception included) marks the camera's
// "analyzer" component failed, the packet it was working on is dropped, and after a backoff the
// pipeline starts again from the stream's next keyframe. What throws in the PacketSink methods,
// on the camera's ingest thread, is contained there: recording and live view never see it.
// Lifetime: the thread starts in the constructor and stops in stop() or the destructor; the sink,
// clock and options.components must outlive the analyzer. Sink calls happen on the analyzer's
// thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "analyze/detection.h"
#include "analyze/detector.h"
#include "analyze/frame_selector.h"
#include "analyze/tamper_detector.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "ingest/media.h"

namespace vigil {

struct CameraAnalyzerOptions {
  int analysis_width = 320;
  bool skip_deblocking = true;  // FrameDecoderOptions
  size_t queue_packets = 300;  // ~12 s of a 25 fps stream decoded in full
  // How often the watchdog looks (and repeats kSignalLost while the signal stays lost).
  std::chrono::milliseconds watchdog_interval{1000};
  TamperOptions tamper;
  // Size trigger and hold of adaptive decoding (`adaptive` itself comes from the settings).
  FrameSelectorOptions selector;
  // Where a failure of this analyzer is reported (null: only logged), and how soon it restarts.
  ComponentRegistry* components = nullptr;
  RestartPolicy restart;
};

struct AnalyzerStats {
  int64_t packets_seen = 0;      // video packets received
  int64_t packets_decoded = 0;   // sent to the decoder
  int64_t packets_dropped = 0;   // queue full
  int64_t frames_decoded = 0;
  int64_t frames_analysed = 0;
  int64_t decode_errors = 0;
  int64_t size_triggers = 0;     // idle -> full decoding by packet size (adaptive only)
  int64_t sampled_gops = 0;      // GOPs of sustained motion decoded for their start only
  int64_t looked_back = 0;       // idle GOPs decoded after all: the keyframe after them differed
  int64_t results = 0;           // AnalysisResults delivered, signal loss included
  bool signal_lost = false;
};

class CameraAnalyzer final : public PacketSink {
 public:
  CameraAnalyzer(const CameraConfig& camera, const AnalysisSettings& settings, const Clock& clock,
                 AnalysisSink& sink, bool sub_stream, CameraAnalyzerOptions options = {},
                 std::vector<std::unique_ptr<Detector>> more_detectors = {});
  ~CameraAnalyzer() override;
  CameraAnalyzer(const CameraAnalyzer&) = delete;
  CameraAnalyzer& operator=(const CameraAnalyzer&) = delete;

  void on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) override;
  void on_packet(const MediaPacket& p) override;
  void on_stream_end(const std::string& reason, WallTime now) override;

  // Waits until everything queued so far has been analysed (tests and benchmarks).
  void drain();
  // Stops the thread; queued packets are discarded. Idempotent.
  void stop();
  AnalyzerStats stats() const;
  const std::string& camera_id() const { return camera_id_; }

 private:
  struct Item {
    enum class Kind { kStart, kPacket, kEnd } kind = Kind::kPacket;
    std::shared_ptr<const StreamInfo> info;
    FrameSelector::PacketRef packet;
    WallTime received;  // when the packet arrived
    uint64_t stream = 0;  // kStart: which stream of this analyzer it is
    std::shared_ptr<const FrameSelector::Gop> previous_gop;  // FrameSelector::Packet
  };
  class Pipeline;  // the analysis thread's state: decoder, detectors

  void run();
  void process(Item& item);  // analysis thread
  // The PacketSink methods' work, on the ingest thread.
  void start_stream(std::shared_ptr<const StreamInfo> info, WallTime now);
  void select(const MediaPacket& p);
  void push(Item item);  // ingest thread; drops when full
  void check_signal(WallTime wall, SteadyTime steady);

  const std::string camera_id_;
  const Clock& clock_;
  AnalysisSink& sink_;
  const CameraAnalyzerOptions options_;
  const std::chrono::milliseconds signal_timeout_;

  // Ingest thread only.
  FrameSelector selector_;
  AVRational time_base_{1, 90000};
  std::vector<FrameSelector::Packet> selected_;
  uint64_t stream_ = 0;  // streams started so far

  // Analysis thread only.
  std::unique_ptr<Pipeline> pipeline_;
  std::deque<Item> batch_;  // taken from queue_; what a failure left of it is worked on after
  std::shared_ptr<const StreamInfo> info_;  // of the stream being analysed
  bool restart_ = false;         // a failure happened: start the pipeline afresh
  bool await_keyframe_ = false;  // after a restart: packets until the next keyframe are skipped

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work for the thread
  std::condition_variable idle_cv_;  // the thread finished what was queued
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;

  // The selector's hint: what analysis said of its latest frame, and of which stream (media
  // times of an earlier stream mean nothing to the next one).
  mutable std::mutex hint_mu_;
  uint64_t hint_stream_ = 0;
  AnalysisHint hint_;
  std::atomic<int64_t> last_packet_ns_;  // steady clock, for the watchdog
  std::atomic<int64_t> packets_seen_{0}, packets_decoded_{0}, packets_dropped_{0};
  std::atomic<int64_t> frames_decoded_{0}, frames_analysed_{0}, decode_errors_{0};
  std::atomic<int64_t> size_triggers_{0}, sampled_gops_{0}, looked_back_{0}, results_{0};
  std::atomic<bool> signal_lost_{false};
  SteadyTime last_lost_report_{};  // analysis thread

  SupervisedThread thread_;
};

}  // namespace vigil
