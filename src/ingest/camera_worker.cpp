#include "ingest/camera_worker.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "ingest/audio_transcoder.h"
#include "ingest/native_rtsp_source.h"

namespace vigil {

SourceFactory rtsp_source_factory(const Clock& clock, const IngestSettings& settings) {
  return [&clock, settings](const CameraConfig& c) -> std::unique_ptr<MediaSource> {
    if (c.client == RtspClient::kNative && c.transport == RtspTransport::kTcp &&
        c.url.rfind("rtsp://", 0) == 0) {
      const bool to_aac = c.audio == CameraAudio::kAac;
      auto native = std::make_unique<NativeRtspSource>(
          c.url, settings.io_timeout, settings.read_batch, clock, NativeRtspSource::kMaxReadyBytes,
          c.auth == RtspAuth::kBasic, to_aac);
      if (!to_aac) return native;
      return std::make_unique<TranscodingSource>(c.id, std::move(native));
    }
    return std::make_unique<LibavRtspSource>(c.url, c.transport, settings.io_timeout, clock);
  };
}

CameraWorker::CameraWorker(CameraConfig camera, IngestSettings settings, const Clock& clock,
                           SourceFactory factory, std::vector<PacketSink*> sinks,
                           ComponentRegistry* components, bool sub_stream)
    : camera_(std::move(camera)),
      settings_(settings),
      clock_(clock),
      factory_(std::move(factory)),
      sinks_(std::move(sinks)),
      thread_(components, {sub_stream ? "ingest-sub" : "ingest", camera_.id, ""},
              (sub_stream ? "sub:" : "rec:") + camera_.id,
              {settings_.backoff_initial, settings_.backoff_max}) {}

CameraWorker::~CameraWorker() { stop(); }

void CameraWorker::start() {
  if (!camera_.enabled) {
    health_.set_state(CameraState::kDisabled, clock_.wall_now());
    return;
  }
  // A failure the camera did not cause still reads as this camera's last error.
  thread_.start([this] { run(); },
                [this](const std::string& what) { health_.failed(what, clock_.wall_now()); });
}

void CameraWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (current_) current_->interrupt();
  }
  cv_.notify_all();
  thread_.stop();
}

bool CameraWorker::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void CameraWorker::run() {
  Backoff backoff(settings_.backoff_initial, settings_.backoff_max,
                  std::hash<std::string>{}(camera_.id) ^
                      static_cast<uint64_t>(clock_.steady_now().time_since_epoch().count()));
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    const SteadyTime began = clock_.steady_now();
    stream_once();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    // A connection that streamed for a while was healthy: start the backoff again from the
    // beginning, so a camera reboot is followed by a quick reconnect.
    if (clock_.steady_now() - began > std::chrono::seconds(30)) backoff.reset();
    const auto delay = backoff.next();
    spdlog::info("camera {}: reconnecting in {:.1f} s", camera_.id, delay.count() / 1000.0);
    if (!sleep_for(delay)) return;
  }
}

void CameraWorker::stream_once() {
  health_.set_state(CameraState::kConnecting, clock_.wall_now());
  std::unique_ptr<MediaSource> source = factory_(camera_);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    current_ = source.get();
  }
  struct ClearCurrent {
    CameraWorker* w;
    ~ClearCurrent() {
      std::lock_guard lock(w->mu_);
      w->current_ = nullptr;
    }
  } clear_current{this};

  std::shared_ptr<const StreamInfo> info;
  try {
    info = source->open();
  } catch (const Error& e) {
    const std::string msg = e.what();
    health_.failed(msg, clock_.wall_now());
    spdlog::warn("camera {}: cannot connect: {}", camera_.id, msg);
    return;
  }
  health_.connected(info->video_codec_name(), info->video->width, info->video->height,
                    info->audio_skipped, clock_.wall_now());
  spdlog::info("camera {}: streaming {} {}x{}{}{}", camera_.id, info->video_codec_name(),
               info->video->width, info->video->height, info->audio ? " with AAC audio" : "",
               info->audio_skipped.empty() ? "" : "; " + info->audio_skipped);
  for (PacketSink* s : sinks_) s->on_stream_start(info, clock_.wall_now());

  std::string end_reason = "stopped";
  PacketPtr pkt = make_packet();
  try {
    for (;;) {
      TrackKind track = TrackKind::kVideo;
      const SteadyTime t0 = clock_.steady_now();
      if (!source->read(pkt.get(), track)) {
        end_reason = "the camera ended the stream";
        break;
      }
      const SteadyTime t1 = clock_.steady_now();
      const WallTime wall = clock_.wall_now();
      health_.packet(track == TrackKind::kVideo, static_cast<size_t>(pkt->size), t1, wall);
      MediaPacket mp{pkt.get(), track, wall};
      for (PacketSink* s : sinks_) s->on_packet(mp);
      av_packet_unref(pkt.get());
      // Batching: a read that had to wait for the network means we are caught up with the
      // camera. Sleeping a little lets the kernel collect a batch of RTP packets, which are then
      // read without a wake-up per packet (the main CPU cost of a copy recorder).
      if (!source->batches_reads() && settings_.read_batch.count() > 0 &&
          t1 - t0 > std::chrono::milliseconds(2)) {
        if (!sleep_for(settings_.read_batch)) break;
      }
    }
  } catch (const Error& e) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    end_reason = stopping ? "stopped" : e.what();
  } catch (...) {
    // Not the camera's doing (a sink, or a bug): the sinks still learn that the stream ended
    // (the recorder closes its segment), then the supervisor reports it and starts over.
    const std::string what = describe_current_exception();
    for (PacketSink* s : sinks_) s->on_stream_end(what, clock_.wall_now());
    throw;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) end_reason = "vigil stopped";
  }
  if (end_reason != "vigil stopped") {
    health_.failed(end_reason, clock_.wall_now());
    spdlog::warn("camera {}: stream lost: {}", camera_.id, end_reason);
  }
  for (PacketSink* s : sinks_) s->on_stream_end(end_reason, clock_.wall_now());
}

}  // namespace vigil
