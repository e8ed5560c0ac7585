#include "analyze/camera_analyzer.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/mathematics.h>
}

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "analyze/frame_decoder.h"
#include "analyze/frame_jpeg.h"
#include "analyze/motion_detector.h"
#include "core/error.h"

namespace vigil {
namespace {

int64_t steady_ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::shared_ptr<const AVPacket> share_packet(const AVPacket* p) {
  AVPacket* c = av_packet_clone(p);
  if (!c) return nullptr;
  return std::shared_ptr<const AVPacket>(c, [](const AVPacket* q) {
    auto* m = const_cast<AVPacket*>(q);
    av_packet_free(&m);
  });
}

Ticks90k media_time(int64_t ts, AVRational tb) {
  return Ticks90k{av_rescale_q(ts, tb, AVRational{1, 90000})};
}

// Looking back (Pipeline::differs_from_last): a pixel of two keyframes, grey levels matched,
// differs by more than this.
constexpr int kLookBackGreyLevels = 16;

}  // namespace

// Everything the analysis thread owns.
class CameraAnalyzer::Pipeline {
 public:
  Pipeline(const std::string& camera_id, const AnalysisSettings& settings,
           const CameraAnalyzerOptions& options, std::vector<std::unique_ptr<Detector>> more)
      : camera_id_(camera_id),
        decoder_(camera_id, FrameDecoderOptions{options.analysis_width, options.skip_deblocking}),
        interval_(std::chrono::duration_cast<Ticks90k>(
            std::chrono::duration<double>(1.0 / settings.fps))),
        zone_count_(static_cast<size_t>(
            std::count_if(settings.zones.begin(), settings.zones.end(),
                          [](const ZoneConfig& z) { return !z.mask; }))),
        min_area_(settings.min_area) {
    // Tamper first: motion is not judged on a tampered picture.
    if (settings.tamper) detectors_.push_back(std::make_unique<TamperDetector>(options.tamper));
    detectors_.push_back(std::make_unique<MotionDetector>(settings));
    for (auto& d : more) detectors_.push_back(std::move(d));
  }

  void start(const StreamInfo& info) {
    time_base_ = info.video_time_base;
    last_analysed_.reset();
    last_grey_ = cv::Mat();
    motion_since_.reset();
    received_.clear();
    try {
      decoder_.open(info);
    } catch (const Error& e) {
      spdlog::error("{}; analysis paused until the stream restarts", e.what());
    }
    for (auto& d : detectors_) d->on_stream_restart();
  }

  // Decodes one packet; returns the results of the frames analysed, and in `hint` what the
  // latest of them says. A keyframe that brings the GOP before it (`previous_gop`) and differs
  // from the last frame analysed, one of that GOP's, has the rest of that GOP analysed first
  // (decoded from its keyframe): the change began somewhere in it, and its frames say where.
  void packet(const AVPacket& pkt, WallTime received, const FrameSelector::Gop* previous_gop,
              std::vector<AnalysisResult>& out, int64_t& decode_errors, AnalysisHint& hint) {
    if (!decoder_.is_open()) return;
    decode(pkt, received, decode_errors);
    if (previous_gop && !previous_gop->empty() && (pkt.flags & AV_PKT_FLAG_KEY) &&
        differs_from_last(previous_gop->front())) {
      ++looked_back_;
      decoder_.reset();
      const Ticks90k seen = *last_analysed_;
      for (const FrameSelector::Packet& p : *previous_gop) {
        decode(*p.pkt, p.received, decode_errors);
        analyse(out, hint, seen);
      }
      // The keyframe again: what comes after it is decoded against it.
      decode(pkt, received, decode_errors);
    }
    analyse(out, hint);
  }

  int64_t looked_back() const { return looked_back_; }
  int64_t frames_decoded() const { return decoder_.frames_decoded(); }

 private:
  void decode(const AVPacket& pkt, WallTime received, int64_t& decode_errors) {
    const int64_t pts = pkt.pts != AV_NOPTS_VALUE ? pkt.pts : pkt.dts;
    received_.emplace_back(pts, received);
    if (received_.size() > 64) received_.pop_front();
    frames_.clear();
    if (!decoder_.decode(pkt, frames_)) {
      ++decode_errors;
      decoder_.reset();
    }
  }

  const cv::Mat& grey_of(const DecodedFrame& f) {
    if (grey_picture_ != f.picture) {
      grey_picture_ = f.picture;
      grey_ = decoder_.grey(*f.picture);
    }
    return grey_;
  }

  // Whether the frame just decoded (a keyframe) differs from the last frame analysed, provided
  // that was one of the GOP of `previous_key`. A cheap comparison, generous on purpose: it only
  // decides whether to decode a GOP; the detectors then judge its frames. Grey levels are
  // matched (gain and offset) first, so light that changes the whole picture evenly does not
  // count; smoothing at half the analysis width keeps sensor noise out.
  bool differs_from_last(const FrameSelector::Packet& previous_key) {
    if (frames_.empty() || last_grey_.empty() || !last_analysed_) return false;
    const int64_t pts = previous_key.pkt->pts != AV_NOPTS_VALUE ? previous_key.pkt->pts
                                                                 : previous_key.pkt->dts;
    if (*last_analysed_ < media_time(pts, time_base_)) return false;
    const cv::Mat& now = grey_of(frames_.front());
    if (now.empty() || now.size() != last_grey_.size()) return false;
    const cv::Size half(std::max(1, now.cols / 2), std::max(1, now.rows / 2));
    cv::Mat a, b;
    cv::resize(last_grey_, a, half, 0, 0, cv::INTER_AREA);
    cv::resize(now, b, half, 0, 0, cv::INTER_AREA);
    cv::Scalar ma, sa, mb, sb;
    cv::meanStdDev(a, ma, sa);
    cv::meanStdDev(b, mb, sb);
    const double gain = sb[0] > 1 ? sa[0] / sb[0] : 1.0;
    cv::Mat matched, diff;
    b.convertTo(matched, CV_8U, gain, ma[0] - gain * mb[0]);
    cv::absdiff(a, matched, diff);
    const int changed = cv::countNonZero(diff > kLookBackGreyLevels);
    return changed >= std::max(4.0, min_area_ * static_cast<double>(diff.total()));
  }

  // Analyses the frames just decoded; looking back, only those after `after` (the others were).
  void analyse(std::vector<AnalysisResult>& out, AnalysisHint& hint,
               std::optional<Ticks90k> after = std::nullopt) {
    for (DecodedFrame& f : frames_) {
      const Ticks90k at = media_time(f.pts, time_base_);
      if (after && at <= *after) continue;
      // Analyse at most `fps` frames a second; a little early is fine (frame timing jitters).
      if (last_analysed_ && at >= *last_analysed_ && at - *last_analysed_ < interval_ * 9 / 10) {
        continue;
      }
      const cv::Mat grey = grey_of(f);
      if (grey.empty()) continue;
      last_analysed_ = at;
      last_grey_ = grey;
      AnalysisResult r;
      r.camera_id = camera_id_;
      r.at = wall_of(f.pts, received_.back().second);  // received_ has the packet decoded
      const AnalysisFrame frame{grey, f.picture.get(), r.at, at};
      for (auto& d : detectors_) d->detect(frame, r.detections);
      hint.analysed_at = at;
      const auto m = std::find_if(r.detections.begin(), r.detections.end(),
                                  [](const Detection& d) { return d.type == DetectionType::kMotion; });
      hint.motion = m != r.detections.end();
      hint.every_zone = hint.motion && m->zones.size() >= zone_count_;
      if (!hint.motion) {
        motion_since_.reset();
      } else if (!motion_since_) {
        motion_since_ = at;
      }
      hint.motion_since = motion_since_;
      std::shared_ptr<const AVFrame> picture = f.picture;
      r.snapshot_jpeg = [picture] { return frame_to_jpeg(*picture); };
      out.push_back(std::move(r));
    }
  }

  // The host time the frame's packet arrived: what "when" means to people watching.
  WallTime wall_of(int64_t pts, WallTime fallback) const {
    for (auto it = received_.rbegin(); it != received_.rend(); ++it) {
      if (it->first == pts) return it->second;
    }
    return fallback;
  }

  const std::string camera_id_;
  FrameDecoder decoder_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  const Ticks90k interval_;
  const size_t zone_count_;  // zones, not masks
  AVRational time_base_{1, 90000};
  std::optional<Ticks90k> last_analysed_;
  std::deque<std::pair<int64_t, WallTime>> received_;
  std::vector<DecodedFrame> frames_;
  const double min_area_;
  cv::Mat last_grey_;  // of the last frame analysed
  std::shared_ptr<const AVFrame> grey_picture_;  // the picture `grey_` is of
  cv::Mat grey_;
  std::optional<Ticks90k> motion_since_;
  int64_t looked_back_ = 0;
};

CameraAnalyzer::CameraAnalyzer(const CameraConfig& camera, const AnalysisSettings& settings,
                               const Clock& clock, AnalysisSink& sink, bool sub_stream,
                               CameraAnalyzerOptions options,
                               std::vector<std::unique_ptr<Detector>> more_detectors)
    : camera_id_(camera.id),
      clock_(clock),
      sink_(sink),
      options_(options),
      signal_timeout_(settings.signal_timeout),
      selector_([&] {
        FrameSelectorOptions o = options.selector;
        o.adaptive = settings.decode == AnalysisDecode::kAdaptive ||
                     (settings.decode == AnalysisDecode::kAuto && !sub_stream);
        // "all" means every frame; "auto" and "adaptive" sample sustained motion.
        o.sample_sustained = o.sample_sustained && settings.decode != AnalysisDecode::kAll;
        return o;
      }()),
      pipeline_(std::make_unique<Pipeline>(camera.id, settings, options,
                                           std::move(more_detectors))),
      last_packet_ns_(steady_ns(clock.steady_now())),
      thread_(options.components, {"analyzer", camera.id, ""}, "ana:" + camera.id,
              options.restart) {
  // OpenCV's worker pool is process-wide and spins between jobs; at 320 px a frame's work is
  // far below what pays for handing it out, and vigil already runs a thread per camera. Setting
  // it is idempotent, so every analyzer may do it.
  cv::setNumThreads(1);
  thread_.start([this] { run(); }, [this](const std::string&) { restart_ = true; });
}

CameraAnalyzer::~CameraAnalyzer() { stop(); }

void CameraAnalyzer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  thread_.stop();
  idle_cv_.notify_all();
}

void CameraAnalyzer::push(Item item) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= options_.queue_packets && item.kind == Item::Kind::kPacket) {
      ++packets_dropped_;
      // The decoder misses this packet: nothing until the next keyframe makes sense.
      selector_.resync();
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

// The PacketSink methods run on the camera's ingest thread: what fails in them is the analyzer's
// failure (counted, logged), never the recording's; the selector then waits for a keyframe.
void CameraAnalyzer::on_stream_start(std::shared_ptr<const StreamInfo> info, WallTime now) {
  if (!thread_.component().contain([&] { start_stream(std::move(info), now); })) {
    selector_.resync();
  }
}

void CameraAnalyzer::on_packet(const MediaPacket& p) {
  if (!thread_.component().contain([&] { select(p); })) selector_.resync();
}

void CameraAnalyzer::on_stream_end(const std::string& /*reason*/, WallTime now) {
  selector_.resync();
  thread_.component().contain(
      [&] { push(Item{Item::Kind::kEnd, nullptr, nullptr, now, 0, nullptr}); });
}

void CameraAnalyzer::start_stream(std::shared_ptr<const StreamInfo> info, WallTime now) {
  if (!info || !info->video) return;
  time_base_ = info->video_time_base;
  selector_.resync();
  push(Item{Item::Kind::kStart, std::move(info), nullptr, now, ++stream_, nullptr});
}

void CameraAnalyzer::select(const MediaPacket& p) {
  if (p.track != TrackKind::kVideo || !p.pkt) return;
  ++packets_seen_;
  last_packet_ns_ = steady_ns(clock_.steady_now());
  const int64_t ts = p.pkt->pts != AV_NOPTS_VALUE ? p.pkt->pts : p.pkt->dts;
  if (ts == AV_NOPTS_VALUE) return;
  auto ref = share_packet(p.pkt);
  if (!ref) return;
  selected_.clear();
  AnalysisHint hint;
  {
    std::lock_guard lock(hint_mu_);
    if (hint_stream_ == stream_) hint = hint_;
  }
  const FrameSelectorStats before = selector_.stats();
  selector_.on_packet({std::move(ref), p.received, nullptr}, media_time(ts, time_base_), hint,
                      selected_);
  size_triggers_ += selector_.stats().triggers - before.triggers;
  sampled_gops_ += selector_.stats().sampled_gops - before.sampled_gops;
  for (auto& s : selected_) {
    push(Item{Item::Kind::kPacket, nullptr, std::move(s.pkt), s.received, 0,
              std::move(s.previous_gop)});
  }
}

void CameraAnalyzer::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return stopping_ || (queue_.empty() && !busy_); });
}

AnalyzerStats CameraAnalyzer::stats() const {
  AnalyzerStats s;
  s.packets_seen = packets_seen_;
  s.packets_decoded = packets_decoded_;
  s.packets_dropped = packets_dropped_;
  s.frames_decoded = frames_decoded_;
  s.frames_analysed = frames_analysed_;
  s.decode_errors = decode_errors_;
  s.size_triggers = size_triggers_;
  s.sampled_gops = sampled_gops_;
  s.looked_back = looked_back_;
  s.results = results_;
  s.signal_lost = signal_lost_;
  return s;
}

void CameraAnalyzer::check_signal(WallTime wall, SteadyTime steady) {
  const SteadyTime last{std::chrono::nanoseconds(last_packet_ns_.load())};
  if (steady - last < signal_timeout_) {
    signal_lost_ = false;
    return;
  }
  if (signal_lost_ && steady - last_lost_report_ < options_.watchdog_interval) return;
  if (!signal_lost_) {
    spdlog::warn("camera {}: no video for {} s: signal lost", camera_id_,
                 std::chrono::duration_cast<std::chrono::seconds>(steady - last).count());
  }
  signal_lost_ = true;
  last_lost_report_ = steady;
  AnalysisResult r;
  r.camera_id = camera_id_;
  r.at = wall;
  r.detections.push_back({DetectionType::kSignalLost, 1.0, {}, {}});
  ++results_;
  sink_.on_analysis(r);
}

void CameraAnalyzer::run() {
  if (restart_) {
    // After a failure: the decoder and detectors start over on the stream being analysed (its
    // state was left half-way), from its next keyframe.
    if (info_) pipeline_->start(*info_);
    await_keyframe_ = true;
    restart_ = false;
  }
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      if (batch_.empty()) {
        busy_ = false;
        if (queue_.empty()) idle_cv_.notify_all();
        cv_.wait_for(lock, options_.watchdog_interval,
                     [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        batch_.swap(queue_);
        busy_ = !batch_.empty();
      }
    }
    while (!batch_.empty()) {
      // Taken off before it is worked on: an item that makes the analyzer fail is not retried.
      Item item = std::move(batch_.front());
      batch_.pop_front();
      process(item);
    }
    check_signal(clock_.wall_now(), clock_.steady_now());
  }
}

void CameraAnalyzer::process(Item& item) {
  switch (item.kind) {
    case Item::Kind::kStart: {
      info_ = item.info;
      await_keyframe_ = false;
      pipeline_->start(*item.info);
      std::lock_guard lock(hint_mu_);
      hint_stream_ = item.stream;
      hint_ = AnalysisHint{};
      break;
    }
    case Item::Kind::kEnd:
      break;
    case Item::Kind::kPacket: {
      if (await_keyframe_) {
        if (!(item.packet->flags & AV_PKT_FLAG_KEY)) break;
        await_keyframe_ = false;
      }
      ++packets_decoded_;
      std::vector<AnalysisResult> results;
      int64_t errors = 0;
      AnalysisHint hint;
      {
        std::lock_guard lock(hint_mu_);
        hint = hint_;
      }
      const int64_t decoded_before = pipeline_->frames_decoded();
      pipeline_->packet(*item.packet, item.received, item.previous_gop.get(), results, errors,
                        hint);
      frames_decoded_ += pipeline_->frames_decoded() - decoded_before;
      looked_back_ = pipeline_->looked_back();
      decode_errors_ += errors;
      {
        std::lock_guard lock(hint_mu_);
        hint_ = hint;
      }
      for (const AnalysisResult& r : results) {
        ++frames_analysed_;
        ++results_;
        sink_.on_analysis(r);
      }
      break;
    }
  }
}

}  // namespace vigil
