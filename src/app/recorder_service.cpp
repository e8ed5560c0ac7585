#include "app/recorder_service.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/redact.h"
#include "record/recovery.h"

namespace vigil {

RecorderService::RecorderService(const Config& config, const Clock& clock)
    : config_(config), clock_(clock) {
  catalog_ = std::make_unique<Catalog>(config_.data_dir / "vigil.db");
  const RecoveryReport rr = recover_catalog(*catalog_, config_.data_dir);
  if (rr.closed || rr.removed_rows || rr.finished_deletes) {
    spdlog::warn("recovery: {} open segment(s) cut back and closed, {} without footage removed, "
                 "{} pending deletion(s) finished",
                 rr.closed, rr.removed_rows, rr.finished_deletes);
  }
  for (const auto& n : rr.notes) spdlog::info("recovery: {}", n);

  std::map<std::string, RetentionLimits> limits;
  for (const auto& c : config_.cameras) limits[c.id] = c.retention;
  retention_ = std::make_unique<Retention>(*catalog_, config_.data_dir, config_.min_free_bytes,
                                           limits, clock_, disk_);

  RecorderOptions ropt;
  ropt.segment_duration = std::chrono::duration_cast<Ticks90k>(config_.segment_duration);
  for (const auto& cam : config_.cameras) {
    CameraParts parts;
    parts.recorder = std::make_unique<Recorder>(cam.id, config_.data_dir, *catalog_, clock_, ropt,
                                                [this] { retention_->run_once(true); });
    // The live hub rides on the same connection as the recorder: one camera connection
    // serves recording and every live viewer.
    parts.live = std::make_unique<LiveHub>(cam.id);
    parts.worker = std::make_unique<CameraWorker>(
        cam, config_.ingest, clock_, rtsp_source_factory(clock_, config_.ingest),
        std::vector<PacketSink*>{parts.recorder.get(), parts.live.get()});
    cameras_.push_back(std::move(parts));
  }
}

RecorderService::~RecorderService() { stop(); }

void RecorderService::start() {
  const RetentionPass first = retention_->run_once();
  if (first.deleted) spdlog::info("retention: deleted {} segment(s) at start", first.deleted);
  retention_->start(std::chrono::seconds(10));
  for (auto& c : cameras_) c.worker->start();
}

void RecorderService::stop() {
  for (auto& c : cameras_) {
    if (c.worker) c.worker->stop();  // ends the stream: the recorder closes its segment
  }
  if (retention_) retention_->stop();
}

LiveHub* RecorderService::live_hub(const std::string& camera_id) {
  for (size_t i = 0; i < cameras_.size(); ++i) {
    if (config_.cameras[i].id == camera_id) return cameras_[i].live.get();
  }
  return nullptr;
}

std::string RecorderService::status_json() {
  using nlohmann::json;
  json cams = json::array();
  for (size_t i = 0; i < cameras_.size(); ++i) {
    const CameraConfig& cfg = config_.cameras[i];
    const HealthSnapshot h = cameras_[i].worker->health();
    const RecorderStatus r = cameras_[i].recorder->status();
    const CameraUsage u = catalog_->usage(cfg.id);
    json j = {
        {"id", cfg.id},
        {"name", cfg.name},
        {"url", redact_url(cfg.url)},
        {"state", camera_state_name(h.state)},
        {"fps", h.fps},
        {"bitrate_bps", h.bitrate_bps},
        {"video_codec", h.video_codec},
        {"width", h.width},
        {"height", h.height},
        {"reconnects", h.reconnects},
        {"failures", h.connect_failures},
        {"last_error", h.last_error},
        {"note", h.note},
        {"recording_file", r.current_file},
        {"segments_written", r.segments_closed},
        {"bytes_written", r.bytes_written},
        {"packets_dropped", r.packets_dropped},
        {"record_error", r.last_error},
        {"stored_bytes", u.bytes},
        {"stored_segments", u.segments},
    };
    j["last_error_at"] = h.last_error_at ? format_iso8601(*h.last_error_at) : "";
    j["last_packet_at"] = h.last_packet_at ? format_iso8601(*h.last_packet_at) : "";
    j["oldest_footage"] = u.oldest_start ? format_iso8601(*u.oldest_start) : "";
    j["newest_footage"] = u.newest_end ? format_iso8601(*u.newest_end) : "";
    cams.push_back(std::move(j));
  }
  json out = {{"updated_at", format_iso8601(clock_.wall_now())},
              {"updated_at_ms", ms_since_epoch(clock_.wall_now())},
              {"pid", static_cast<int64_t>(::getpid())},
              {"data_dir", config_.data_dir.string()},
              {"cameras", cams}};
  try {
    out["disk_free_bytes"] = disk_.free_bytes(config_.data_dir);
  } catch (const Error&) {
  }
  return out.dump(2);
}

void RecorderService::write_status_file() {
  const auto tmp = config_.data_dir / "status.json.tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << status_json() << "\n";
    if (!f) {
      spdlog::warn("{}: cannot write status", tmp.string());
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, config_.data_dir / "status.json", ec);
}

}  // namespace vigil
