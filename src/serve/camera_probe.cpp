#include "serve/camera_probe.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/redact.h"
#include "core/text.h"
#include "serve/snapshot.h"

namespace vigil {
namespace {

// The message without the URLs in it: sources name the URL in their errors, and a port or path
// is the user's text: "rtsp://10.0.0.5:34015/gone: connection refused" holds "401".
std::string without_urls(std::string m) {
  for (const char* scheme : {"rtsp://", "rtsps://"}) {
    for (size_t at; (at = m.find(scheme)) != std::string::npos;) {
      const size_t end = m.find_first_of(" \t", at);
      m.erase(at, end == std::string::npos ? std::string::npos : end - at);
    }
  }
  return m;
}

// The reason code of an ingest error: the sources' messages are already for people; this sorts
// them so that a client can react (e.g. highlight the password field on "unauthorized"). It
// matches the phrases the sources write (rtsp_connection, native_rtsp_source,
// libav_rtsp_source), never the URL.
std::string reason_of(const Error& e) {
  std::string m = without_urls(e.what());
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&m](const char* s) { return m.find(s) != std::string::npos; };
  if (e.code() == ErrorCode::kUnauthenticated || has("(401)") || has("401 unauthorized")) {
    return "unauthorized";
  }
  if (has("(404)") || has("404 not found")) return "not_found";
  if (has("refused")) return "refused";
  if (has("unreachable")) return "unreachable";
  if (has("no answer") || has("timed out") || has("timeout")) return "timeout";
  if (has("not supported") || has("no video")) return "unsupported";
  return "failed";
}

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// Frame rate from the timestamps of the video packets after the keyframe: reads at most a
// dozen packets or one second. The median step between sorted timestamps is one frame's
// duration also with B-frames (decode order differs from presentation order) and a lost packet.
// Errors here do not spoil a probe that has its picture.
std::optional<double> measure_fps(MediaSource& source, const StreamInfo& info, int64_t first_pts,
                                  const Clock& clock) {
  if (first_pts == AV_NOPTS_VALUE) return std::nullopt;
  PacketPtr pkt = make_packet();
  const SteadyTime until = clock.steady_now() + std::chrono::seconds(1);
  std::vector<int64_t> pts{first_pts};
  try {
    TrackKind track = TrackKind::kVideo;
    while (pts.size() < 13 && clock.steady_now() < until && source.read(pkt.get(), track)) {
      if (track == TrackKind::kVideo && pkt->pts != AV_NOPTS_VALUE) pts.push_back(pkt->pts);
      av_packet_unref(pkt.get());
    }
  } catch (const Error&) {
  }
  std::sort(pts.begin(), pts.end());
  std::vector<int64_t> steps;
  for (size_t i = 1; i < pts.size(); ++i) {
    if (pts[i] > pts[i - 1]) steps.push_back(pts[i] - pts[i - 1]);
  }
  if (steps.size() < 3) return std::nullopt;
  std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
  const double frame = static_cast<double>(steps[steps.size() / 2]) * av_q2d(info.video_time_base);
  if (frame <= 0) return std::nullopt;
  return std::round(100 / frame) / 100;
}

ProbeResult probe_with_deadline(MediaSource& source, const Clock& clock,
                                const std::atomic<bool>& timed_out,
                                std::chrono::milliseconds limit) {
  ProbeResult r;
  auto failed = [&](const std::string& reason, const std::string& error) {
    r.ok = false;
    r.reason = reason;
    r.error = error;
    return r;
  };
  std::shared_ptr<const StreamInfo> info;
  PacketPtr pkt = make_packet();
  try {
    info = source.open();
    TrackKind track = TrackKind::kVideo;
    for (;;) {
      if (!source.read(pkt.get(), track)) {
        return failed("failed", "the stream ended before its first keyframe");
      }
      if (track == TrackKind::kVideo && (pkt->flags & AV_PKT_FLAG_KEY)) break;
      av_packet_unref(pkt.get());
    }
  } catch (const Error& e) {
    if (timed_out) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "no picture within %.0f s (no keyframe arrived in time)",
                    limit.count() / 1000.0);
      return failed("timeout", buf);
    }
    return failed(reason_of(e), e.what());
  }
  try {
    const JpegImage img = keyframe_to_jpeg_image(*info, *pkt);
    r.jpeg = img.bytes;
    r.width = img.width;
    r.height = img.height;
  } catch (const Error& e) {
    return failed("undecodable", std::string("the first keyframe cannot be decoded: ") + e.what());
  }
  r.ok = true;
  r.codec = info->video_codec_name();
  r.fps = measure_fps(source, *info, pkt->pts, clock);
  return r;
}

}  // namespace

nlohmann::json ProbeResult::to_json() const {
  if (!ok) return {{"ok", false}, {"reason", reason}, {"error", error}};
  return {{"ok", true},
          {"codec", codec},
          {"width", width},
          {"height", height},
          {"fps", fps ? nlohmann::json(*fps) : nlohmann::json(nullptr)},
          {"snapshot", base64(jpeg)}};
}

void ProbeCancel::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool ProbeCancel::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

ProbeResult probe_source(MediaSource& source, std::chrono::milliseconds limit, const Clock& clock,
                         ProbeCancel* cancel) {
  ProbeCancel local;
  ProbeCancel& c = cancel ? *cancel : local;
  std::atomic<bool> timed_out{false};  // set by the watchdog before it interrupts the source
  // The sources' own I/O timeouts notice a silent camera; this bounds the whole probe (a camera
  // that answers but never sends a keyframe) and carries cancellation.
  std::thread watchdog([&] {
    set_thread_name("probe-limit");
    std::unique_lock lock(c.mu_);
    c.cv_.wait_for(lock, limit, [&] { return c.done_ || c.cancelled_; });
    if (c.done_) return;
    timed_out = !c.cancelled_;
    lock.unlock();
    source.interrupt();
  });
  ProbeResult r = probe_with_deadline(source, clock, timed_out, limit);
  {
    std::lock_guard lock(c.mu_);
    c.done_ = true;
  }
  c.cv_.notify_all();
  watchdog.join();
  if (!r.ok && c.cancelled()) {
    r.reason = "failed";
    r.error = "the test was cancelled";
  }
  return r;
}

// One probe: its thread, and the response body the result goes to.
class CameraProber::Job final : public http::BodyStream {
 public:
  void pull(std::function<void(Chunks)> ready) override {
    std::unique_lock lock(mu_);
    if (delivered_ || closed_) {
      lock.unlock();
      ready({});  // the one chunk was sent: the body ends
      return;
    }
    if (body_) {
      delivered_ = true;
      auto chunk = body_;
      lock.unlock();
      ready({chunk});
      return;
    }
    pending_ = std::move(ready);
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      pending_ = nullptr;
    }
    cancel.cancel();  // nobody waits for the answer any more
  }

  void finish(const std::string& body) {
    std::function<void(Chunks)> ready;
    std::shared_ptr<const std::string> chunk;
    {
      std::lock_guard lock(mu_);
      body_ = std::make_shared<const std::string>(body);
      if (!pending_) return;
      ready = std::move(pending_);
      pending_ = nullptr;
      delivered_ = true;
      chunk = body_;
    }
    ready({chunk});
  }

  ProbeCancel cancel;
  std::thread thread;
  std::atomic<bool> finished{false};

 private:
  std::mutex mu_;
  std::shared_ptr<const std::string> body_;
  std::function<void(Chunks)> pending_;
  bool delivered_ = false;
  bool closed_ = false;
};

CameraProber::CameraProber(const Clock& clock, SourceFactory factory,
                           std::chrono::milliseconds limit, size_t max_running,
                           ComponentRegistry* components)
    : clock_(clock),
      factory_(std::move(factory)),
      limit_(limit),
      max_running_(max_running),
      component_(components, {"probe", "", ""}) {}

CameraProber::~CameraProber() { stop(); }

void CameraProber::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (auto& j : jobs_) j->cancel.cancel();
  for (auto& j : jobs_) {
    if (j->thread.joinable()) j->thread.join();
  }
  jobs_.clear();
}

void CameraProber::reap() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if ((*it)->finished) {
      if ((*it)->thread.joinable()) (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<http::BodyStream> CameraProber::start(const CameraConfig& camera) {
  std::lock_guard lock(mu_);
  reap();
  if (stopped_ || jobs_.size() >= max_running_) return nullptr;
  auto job = std::make_shared<Job>();
  std::unique_ptr<MediaSource> source = factory_(camera);
  const std::string where = redact_url(camera.url);
  job->thread = std::thread([this, job, where, source = std::move(source)]() mutable {
    set_thread_name("probe");
    std::string body;
    const bool answered = component_.contain([&] {
      const ProbeResult r = probe_source(*source, limit_, clock_, &job->cancel);
      source.reset();  // disconnects (TEARDOWN) before the answer goes out
      if (r.ok) {
        spdlog::info("camera test {}: {} {}x{}", where, r.codec, r.width, r.height);
      } else {
        spdlog::info("camera test {}: {}", where, r.error);
      }
      body = to_json_text(r.to_json());
    });
    if (!answered) {
      // The client still gets an answer, and the failure is the probe's, not the process's.
      spdlog::warn("camera test {}: failed inside vigil (the line before says why)", where);
      ProbeResult failed;
      failed.reason = "failed";
      failed.error = "the test failed inside vigil (its log says why)";
      body = to_json_text(failed.to_json());
    }
    job->finish(body);
    job->finished = true;
  });
  jobs_.push_back(job);
  return job;
}

}  // namespace vigil
