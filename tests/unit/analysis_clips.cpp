#include "analysis_clips.h"

#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <stdexcept>

extern "C" {
#include <libavformat/avformat.h>
}

namespace vigil::test {

DemuxedClip demux_file(const std::filesystem::path& file) {
  DemuxedClip clip;
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, file.c_str(), nullptr, nullptr) < 0 ||
      avformat_find_stream_info(ctx, nullptr) < 0) {
    if (ctx) avformat_close_input(&ctx);
    throw std::runtime_error("cannot demux " + file.string());
  }
  const int v = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (v < 0) {
    avformat_close_input(&ctx);
    throw std::runtime_error("no video in " + file.string());
  }
  const AVStream* vs = ctx->streams[v];
  clip.info = std::make_shared<StreamInfo>();
  clip.info->video.reset(avcodec_parameters_alloc());
  avcodec_parameters_copy(clip.info->video.get(), vs->codecpar);
  clip.info->video_time_base = vs->time_base;
  for (;;) {
    PacketPtr p = make_packet();
    if (av_read_frame(ctx, p.get()) < 0) break;
    if (p->stream_index == v) clip.video.push_back(std::move(p));
  }
  avformat_close_input(&ctx);
  return clip;
}

DemuxedClip make_scripted_clip(const std::filesystem::path& file, const ClipSpec& spec,
                               const Painter& paint) {
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt gray -s " +
      std::to_string(spec.width) + "x" + std::to_string(spec.height) + " -r " +
      std::to_string(spec.fps) + " -i - -c:v libx264 -preset veryfast -crf 23 -g " +
      std::to_string(spec.gop) + " -keyint_min " + std::to_string(spec.gop) +
      " -sc_threshold 0 " + spec.x264 + " -pix_fmt yuv420p " + file.string();
  FILE* pipe = ::popen(cmd.c_str(), "w");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  cv::Mat frame(spec.height, spec.width, CV_8U);
  const int frames = spec.fps * spec.seconds;
  for (int i = 0; i < frames; ++i) {
    paint(i, static_cast<double>(i) / spec.fps, frame);
    if (std::fwrite(frame.data, 1, frame.total(), pipe) != frame.total()) break;
  }
  if (::pclose(pipe) != 0) throw std::runtime_error("encoding failed: " + cmd);
  return demux_file(file);
}

Scene::Scene(int width, int height, uint64_t seed) : width_(width), height_(height) {
  // A margin of half the frame on every side, so views can be shifted that far.
  canvas_.create(height * 2, width * 2, CV_8U);
  cv::RNG rng(seed);
  canvas_.setTo(110);
  // One draw per statement: the order in which a call's arguments are evaluated is unspecified
  // (GCC takes them right to left on x86-64, left to right on arm64), and two draws in one
  // argument list painted another scene on arm64. This is x86-64's order, kept so that the
  // clips the thresholds were tuned on stay as they were.
  for (int i = 0; i < 400; ++i) {
    const int grey = rng.uniform(40, 210);
    const int y = rng.uniform(0, canvas_.rows);
    const int x = rng.uniform(0, canvas_.cols);
    if (i % 3 == 0) {
      const int radius = rng.uniform(6, 40);
      cv::circle(canvas_, cv::Point(x, y), radius, cv::Scalar(grey), cv::FILLED, cv::LINE_AA);
    } else {
      const int h = rng.uniform(8, 90);
      const int w = rng.uniform(8, 90);
      cv::rectangle(canvas_, cv::Rect(x, y, w, h), cv::Scalar(grey), cv::FILLED, cv::LINE_AA);
    }
  }
  cv::GaussianBlur(canvas_, canvas_, cv::Size(3, 3), 0);
}

void Scene::view(cv::Mat& out, int dx, int dy) const {
  canvas_(cv::Rect(width_ / 2 + dx, height_ / 2 + dy, width_, height_)).copyTo(out);
}

void Scene::add_noise(cv::Mat& frame, double sigma, cv::RNG& rng) {
  cv::Mat noise(frame.size(), CV_16S);
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  cv::Mat wide;
  frame.convertTo(wide, CV_16S);
  wide += noise;
  wide.convertTo(frame, CV_8U);
}

void CollectingSink::on_analysis(const AnalysisResult& r) {
  {
    std::lock_guard lock(mu_);
    entries_.push_back({r.at, r.detections, static_cast<bool>(r.snapshot_jpeg)});
    if (!first_snapshot_ && r.snapshot_jpeg) first_snapshot_ = r.snapshot_jpeg;
  }
  cv_.notify_all();
}

std::vector<CollectingSink::Entry> CollectingSink::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

bool CollectingSink::wait_for(DetectionType type, std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, limit, [&] {
    for (const Entry& e : entries_) {
      for (const Detection& d : e.detections) {
        if (d.type == type) return true;
      }
    }
    return false;
  });
}

std::vector<uint8_t> CollectingSink::first_snapshot() const {
  std::function<std::vector<uint8_t>()> f;
  {
    std::lock_guard lock(mu_);
    f = first_snapshot_;
  }
  return f ? f() : std::vector<uint8_t>{};
}

void feed_clip(PacketSink& sink, const DemuxedClip& clip, FakeClock& clock, WallTime start,
               const std::function<void()>& drain, int first_packet, int end_packet) {
  if (first_packet == 0) sink.on_stream_start(clip.info, start);
  const int end = end_packet < 0 ? static_cast<int>(clip.video.size()) : end_packet;
  int64_t first_dts = AV_NOPTS_VALUE;
  for (const PacketPtr& p : clip.video) {
    if (p->dts != AV_NOPTS_VALUE) {
      first_dts = p->dts;
      break;
    }
  }
  const AVRational tb = clip.info->video_time_base;
  for (int i = first_packet; i < end; ++i) {
    const AVPacket* p = clip.video[static_cast<size_t>(i)].get();
    const int64_t dts = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    const auto offset =
        WallDuration{av_rescale_q(dts - first_dts, tb, AVRational{1, 1000})};
    // The wall clock reaches the packet's arrival time (never goes back).
    const WallTime at = clock.wall_now();
    const WallTime due = start + offset;
    if (due > at) clock.advance(due - at);
    sink.on_packet(MediaPacket{p, TrackKind::kVideo, clock.wall_now()});
    drain();
  }
}

}  // namespace vigil::test
