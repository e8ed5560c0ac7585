#include "app/recorder_service.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/redact.h"
#include "core/text.h"
#include "record/recovery.h"

namespace vigil {

RecorderService::RecorderService(const Config& config, const Clock& clock,
                                 ComponentRegistry& components)
    : fixed_(config),
      clock_(clock),
      components_(components),
      status_writer_(&components, {"status", "", ""}, "status") {
  catalog_ = std::make_unique<Catalog>(fixed_.catalog_location());
  const RecoveryReport rr = recover_catalog(*catalog_, fixed_.data_dir);
  if (rr.closed || rr.removed_rows || rr.finished_deletes) {
    spdlog::warn("recovery: {} open segment(s) cut back and closed, {} without footage removed, "
                 "{} pending deletion(s) finished",
                 rr.closed, rr.removed_rows, rr.finished_deletes);
  }
  for (const auto& n : rr.notes) spdlog::info("recovery: {}", n);

  // The recorder's signing key, created at the first start; its public half goes into the
  // catalog too, so that checkpoints stay verifiable if keys/ is lost.
  auto signer = std::make_shared<CheckpointSigner>();
  signer->key = load_or_create_signing_key(fixed_.data_dir);
  signer->fingerprint = vigil::key_fingerprint(signer->key.public_key);
  signer->period = fixed_.checkpoint_period;
  signer->audit_head = [this] { return audit_head_ ? audit_head_() : Sha256{}; };
  catalog_->add_signing_key(SigningKeyRow{signer->fingerprint,
                                          public_key_pem(signer->key.public_key),
                                          clock_.wall_now()});
  spdlog::info("signing checkpoints with key {}", signer->fingerprint);
  signer_ = std::move(signer);
  if (!fixed_.tsa.url.empty()) {
    tsa_ = std::make_unique<TsaStamper>(fixed_.tsa, *catalog_, clock_, &components_);
  }

  retention_ = std::make_unique<Retention>(*catalog_, fixed_.data_dir, fixed_.min_free_bytes,
                                           retention_limits(fixed_), clock_, disk_, &components_);
  if (fixed_.archive.enabled()) {
    archiver_ = std::make_unique<archive::Archiver>(*catalog_, fixed_.data_dir, fixed_.archive,
                                                    clock_, &components_);
    // Retention's own client: its passes are serialized, the archiver's thread has its own.
    auto store = std::make_shared<archive::S3Client>(archive::s3_config(fixed_.archive));
    retention_->set_archive([store](const std::string& key) { store->remove(key); });
    spdlog::info("archive: closed segments go to {} {:.3g} day(s) after they end",
                 archiver_->status().store,
                 std::chrono::duration<double, std::ratio<86400>>(fixed_.archive.after).count());
  }
  event_store_ = std::make_unique<EventStore>(fixed_.catalog_location());
  hold_store_ = std::make_unique<HoldStore>(fixed_.catalog_location());
  retention_->set_holds(*hold_store_);
  notifiers_ = std::make_unique<NotifierSet>(&components_);
  if (!fixed_.mqtt.host.empty()) {
    notifiers_->set_mqtt(std::make_unique<MqttNotifier>(fixed_, clock_, &components_));
  }
  if (!fixed_.webhooks.empty()) {
    notifiers_->set_webhooks(std::make_unique<WebhookNotifier>(fixed_.webhooks, &components_));
  }
  // A disk full of held footage stops recording: MQTT and webhooks carry one problem notice
  // as a camera enters that state and one as it leaves it (storage.md, "Holds").
  retention_->set_on_held_full([this](const std::string& camera, bool full, uint64_t free_bytes) {
    ProblemNotice n;
    n.kind = full ? ProblemNotice::Kind::kStart : ProblemNotice::Kind::kEnd;
    n.problem = "held_full";
    n.camera_id = camera;
    {
      std::lock_guard lock(mu_);
      for (const auto& c : cameras_) {
        if (c->config.id == camera) n.camera_name = c->config.name;
      }
    }
    n.at = clock_.wall_now();
    n.free_bytes = free_bytes;
    n.message = full ? "camera " + camera + ": only " + std::to_string(free_bytes) +
                           " bytes free and nothing left to delete but footage under an evidence "
                           "hold: recording stops when the disk is full; release a hold or add "
                           "space"
                     : "camera " + camera + ": the disk is no longer full of held footage; "
                                            "recording goes on";
    notifiers_->notify_problem(n);
  });
  mqtt_settings_ = fixed_.mqtt;
  webhook_settings_ = fixed_.webhooks;
  events_ = std::make_unique<EventEngine>(
      fixed_, *event_store_, std::vector<EventNotifier*>{notifiers_.get()}, clock_, &components_);
  retention_->set_events(*event_store_, events_only(fixed_));
  for (const auto& cam : fixed_.cameras) cameras_.push_back(make_camera(cam));
}

RecorderService::~RecorderService() { stop(); }

std::map<std::string, RetentionLimits> RecorderService::retention_limits(const Config& config) {
  std::map<std::string, RetentionLimits> limits;
  // Footage of a camera that was removed from the configuration is kept, and aged out under
  // the default limits (min_free_space applies to everything anyway).
  for (const auto& id : catalog_->cameras_with_segments()) limits[id] = config.default_retention;
  for (const auto& c : config.cameras) {
    limits[c.id] = c.retention;
    if (c.record_sub) limits[sub_stream_id(c.id)] = c.sub_retention;
  }
  return limits;
}

std::map<std::string, EventFootagePolicy> RecorderService::events_only(
    const Config& config) const {
  const EventSettings& e = config.events;
  std::map<std::string, EventFootagePolicy> out;
  for (const auto& c : config.cameras) {
    if (c.record != RecordMode::kEvents) continue;
    out[c.id] = {e.pre_roll, e.post_roll,
                 event_footage_hold_back(e.pre_roll, e.post_roll, e.merge_gap, e.min_duration)};
  }
  return out;
}

RecorderService::Analysis RecorderService::make_analysis(const CameraConfig& cam) {
  Analysis a;
  if (!cam.analysis.enabled) return a;
  // The sub stream when there is one: a fraction of the main stream's decoding cost.
  const bool sub = !cam.sub_url.empty();
  CameraAnalyzerOptions options;
  options.components = &components_;
  a.analyzer =
      std::make_unique<CameraAnalyzer>(cam, cam.analysis, clock_, *events_, sub, options);
  // A recorded sub stream has its own connection already (Pipeline::sub_worker).
  if (sub && !cam.record_sub) {
    CameraConfig sub_cam = cam;
    sub_cam.url = cam.sub_url;
    a.sub_worker = std::make_unique<CameraWorker>(
        sub_cam, fixed_.ingest, clock_, rtsp_source_factory(clock_, fixed_.ingest),
        std::vector<PacketSink*>{a.analyzer.get()}, &components_, true);
  }
  return a;
}

RecorderService::Pipeline RecorderService::make_pipeline(const CameraConfig& cam,
                                                        CameraParts& parts) {
  Pipeline p;
  p.analysis = make_analysis(cam);
  attach_taps(parts, cam, p.analysis.analyzer.get());
  if (cam.record_sub) {
    CameraConfig sub_cam = cam;
    sub_cam.url = cam.sub_url;
    p.sub_worker = std::make_unique<CameraWorker>(
        sub_cam, fixed_.ingest, clock_, rtsp_source_factory(clock_, fixed_.ingest),
        std::vector<PacketSink*>{&parts.sub_tap, parts.sub_recorder.get()}, &components_, true);
  }
  p.worker = std::make_unique<CameraWorker>(
      cam, fixed_.ingest, clock_, rtsp_source_factory(clock_, fixed_.ingest),
      // Live view and analysis first: each packet reaches them before the recorder queues it
      // for its writer thread.
      std::vector<PacketSink*>{parts.live.get(), &parts.tap, parts.recorder.get()}, &components_);
  return p;
}

void RecorderService::attach_taps(CameraParts& parts, const CameraConfig& cam,
                                  CameraAnalyzer* analyzer) {
  // The analyzer reads the sub stream when there is one (make_analysis), else the main one.
  parts.tap.attach(cam.sub_url.empty() ? analyzer : nullptr, clock_.wall_now());
  parts.sub_tap.attach(cam.record_sub ? analyzer : nullptr, clock_.wall_now());
}

void RecorderService::Pipeline::start() {
  worker->start();
  if (sub_worker) sub_worker->start();
  if (analysis.sub_worker) analysis.sub_worker->start();
}

void RecorderService::Pipeline::stop() {
  if (analysis.sub_worker) analysis.sub_worker->stop();
  if (sub_worker) sub_worker->stop();  // the sub recorder closes its segment
  if (worker) worker->stop();  // ends the stream: the recorder closes its segment
  if (analysis.analyzer) analysis.analyzer->stop();
}

void RecorderService::replace_analysis(CameraParts& parts, const CameraConfig& cam) {
  Analysis& old = parts.pipeline.analysis;
  if (old.sub_worker) old.sub_worker->stop();
  attach_taps(parts, cam, nullptr);  // no packet reaches the old analyzer after this
  if (old.analyzer) old.analyzer->stop();
  Analysis next = make_analysis(cam);
  attach_taps(parts, cam, next.analyzer.get());
  if (started_ && next.sub_worker) next.sub_worker->start();
  Analysis gone;
  {
    // Status reads the analyzer under mu_.
    std::lock_guard lock(mu_);
    gone = std::move(parts.pipeline.analysis);
    parts.pipeline.analysis = std::move(next);
    parts.config = cam;
  }
}

std::unique_ptr<RecorderService::CameraParts> RecorderService::make_camera(
    const CameraConfig& cam) {
  auto parts = std::make_unique<CameraParts>();
  parts->config = cam;
  parts->recorder = make_recorder(cam.id);
  if (cam.record_sub) parts->sub_recorder = make_recorder(sub_stream_id(cam.id));
  // The live hub rides on the same connection as the recorder: one camera connection serves
  // recording and every live viewer.
  parts->live = std::make_shared<LiveHub>(cam.id);
  parts->pipeline = make_pipeline(cam, *parts);
  return parts;
}

std::unique_ptr<Recorder> RecorderService::make_recorder(const std::string& catalog_id) {
  RecorderOptions ropt;
  ropt.segment_duration = std::chrono::duration_cast<Ticks90k>(fixed_.segment_duration);
  ropt.components = &components_;
  ropt.signer = signer_;
  ropt.disk_held_full = [this] { return retention_->held_full().has_value(); };
  return std::make_unique<Recorder>(catalog_id, fixed_.data_dir, *catalog_, clock_, ropt,
                                    [this] { retention_->run_once(true); }, &open_segments_);
}

void RecorderService::start(std::chrono::milliseconds status_period) {
  std::lock_guard apply_lock(apply_mu_);
  const RetentionPass first = retention_->run_once();
  if (first.deleted) spdlog::info("retention: deleted {} segment(s) at start", first.deleted);
  retention_->start(std::chrono::seconds(10));
  if (tsa_) tsa_->start();
  if (archiver_) archiver_->start(std::chrono::seconds(10));
  {
    std::lock_guard lock(mu_);
    for (auto& c : cameras_) c->pipeline.start();
    started_ = true;
  }
  // status.json is for `vigil status`: a few seconds old is fine, and rewriting it is most of
  // what an otherwise idle vigil costs (rename over an ext4 file starts a write-out).
  status_writer_.start([this, status_period] {
    while (status_writer_.wait_for(status_period)) write_status_file();
  });
}

void RecorderService::stop() {
  status_writer_.stop();
  std::lock_guard apply_lock(apply_mu_);
  std::lock_guard lock(mu_);
  for (auto& c : cameras_) c->pipeline.stop();
  if (retention_) retention_->stop();
  if (tsa_) tsa_->stop();
  if (archiver_) archiver_->stop();
  started_ = false;
}

namespace {

bool same_zones(const std::vector<ZoneConfig>& a, const std::vector<ZoneConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].points != b[i].points || a[i].mask != b[i].mask) {
      return false;
    }
  }
  return true;
}

bool same_mqtt(const MqttSettings& a, const MqttSettings& b) {
  return a.host == b.host && a.port == b.port && a.prefix == b.prefix &&
         a.client_id == b.client_id && a.username == b.username && a.password == b.password &&
         a.tls == b.tls && a.ca_file == b.ca_file && a.discovery == b.discovery &&
         a.discovery_prefix == b.discovery_prefix && a.keepalive == b.keepalive &&
         a.queue_limit == b.queue_limit && a.retry_for == b.retry_for;
}

bool same_webhooks(const std::vector<WebhookTarget>& a, const std::vector<WebhookTarget>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const WebhookTarget& x = a[i];
    const WebhookTarget& y = b[i];
    if (x.url != y.url || x.secret != y.secret || x.ca_file != y.ca_file || x.types != y.types ||
        x.timeout != y.timeout || x.max_attempts != y.max_attempts ||
        x.retry_initial != y.retry_initial || x.queue_limit != y.queue_limit) {
      return false;
    }
  }
  return true;
}

bool same_analysis(const AnalysisSettings& a, const AnalysisSettings& b) {
  return a.enabled == b.enabled && a.fps == b.fps && a.sensitivity == b.sensitivity &&
         a.min_area == b.min_area && a.decode == b.decode && a.tamper == b.tamper &&
         a.signal_timeout == b.signal_timeout && same_zones(a.zones, b.zones);
}

// Whether a change needs new connections (which closes the segments being written).
// Name, retention, schedules and the recording mode never do: they live in retention and the
// events stage.
bool reconnect_needed(const CameraConfig& a, const CameraConfig& b) {
  return a.url != b.url || a.enabled != b.enabled || a.transport != b.transport ||
         a.client != b.client || a.auth != b.auth || a.audio != b.audio ||
         a.record_sub != b.record_sub || (b.record_sub && a.sub_url != b.sub_url);
}

// Whether a change needs a new analyzer (and sub stream connection), which the main connection
// can keep feeding through its AnalysisTap.
bool reanalysis_needed(const CameraConfig& a, const CameraConfig& b) {
  return !same_analysis(a.analysis, b.analysis) ||
         (b.analysis.enabled && a.sub_url != b.sub_url);
}

}  // namespace

void RecorderService::apply(const Config& next) {
  std::lock_guard apply_lock(apply_mu_);
  std::vector<std::unique_ptr<CameraParts>> gone;
  std::vector<std::unique_ptr<CameraParts>> order;
  std::vector<CameraParts*> added;
  std::vector<std::pair<CameraParts*, CameraConfig>> changed;
  std::vector<std::pair<CameraParts*, CameraConfig>> reanalysed;
  {
    std::lock_guard lock(mu_);
    std::map<std::string, std::unique_ptr<CameraParts>> running;
    for (auto& c : cameras_) running[c->config.id] = std::move(c);
    for (const auto& cam : next.cameras) {
      auto it = running.find(cam.id);
      if (it == running.end()) {
        order.push_back(make_camera(cam));
        added.push_back(order.back().get());
        continue;
      }
      std::unique_ptr<CameraParts> parts = std::move(it->second);
      running.erase(it);
      if (reconnect_needed(parts->config, cam)) {
        changed.emplace_back(parts.get(), cam);
      } else if (reanalysis_needed(parts->config, cam)) {
        reanalysed.emplace_back(parts.get(), cam);
      } else {
        parts->config = cam;  // name, retention, schedules, recording mode, unused sub_url
      }
      order.push_back(std::move(parts));
    }
    for (auto& [id, parts] : running) gone.push_back(std::move(parts));
    cameras_ = std::move(order);
  }
  // Cameras start and stop outside mu_: stopping joins a thread, and the API's status and live
  // lookups must not wait for that.
  for (auto& parts : gone) {
    spdlog::info("camera {}: removed from the configuration; recording stopped, recordings kept",
                 parts->config.id);
    parts->pipeline.stop();
  }
  gone.clear();
  for (auto& [parts, cam] : changed) {
    spdlog::info("camera {}: settings changed; reconnecting", cam.id);
    // The old connections end before new ones start: one writer per recorder. Status reads the
    // pipeline under mu_ meanwhile, so it is swapped under it and the old one destroyed after.
    parts->pipeline.stop();
    if (cam.record_sub && !parts->sub_recorder) {
      std::unique_ptr<Recorder> sub = make_recorder(sub_stream_id(cam.id));
      std::lock_guard lock(mu_);  // status reads it
      parts->sub_recorder = std::move(sub);
    }
    Pipeline next = make_pipeline(cam, *parts);
    if (started_) next.start();
    Pipeline old;
    {
      std::lock_guard lock(mu_);
      old = std::move(parts->pipeline);
      parts->pipeline = std::move(next);
      parts->config = cam;
    }
  }
  for (auto& [parts, cam] : reanalysed) {
    spdlog::info("camera {}: analysis settings changed; analysis restarted, recording goes on",
                 cam.id);
    replace_analysis(*parts, cam);
  }
  for (CameraParts* parts : added) {
    spdlog::info("camera {} ({}): added", parts->config.id, parts->config.name);
    if (started_) parts->pipeline.start();
  }
  retention_->set_limits(retention_limits(next));
  retention_->set_events(*event_store_, events_only(next));
  events_->set_cameras(next);
  apply_notifiers(next);
}

void RecorderService::apply_notifiers(const Config& next) {
  if (!same_mqtt(mqtt_settings_, next.mqtt)) {
    std::unique_ptr<MqttNotifier> mqtt;
    if (!next.mqtt.host.empty()) {
      try {
        mqtt = std::make_unique<MqttNotifier>(next, clock_, &components_);
      } catch (const std::exception& e) {
        spdlog::error("mqtt: the new settings cannot be used ({}); MQTT is off", e.what());
      }
    }
    spdlog::info("mqtt: settings changed; {}",
                 next.mqtt.host.empty() ? "off"
                                        : "now " + next.mqtt.host + ":" +
                                              std::to_string(next.mqtt.port));
    notifiers_->set_mqtt(std::move(mqtt));
    mqtt_settings_ = next.mqtt;
  } else if (auto mqtt = notifiers_->mqtt()) {
    mqtt->set_cameras(next);
  }
  if (!same_webhooks(webhook_settings_, next.webhooks)) {
    spdlog::info("webhooks: settings changed; {} target(s)", next.webhooks.size());
    notifiers_->set_webhooks(next.webhooks.empty()
                                 ? nullptr
                                 : std::make_unique<WebhookNotifier>(next.webhooks, &components_));
    webhook_settings_ = next.webhooks;
  }
}

std::shared_ptr<LiveHub> RecorderService::live_hub(const std::string& camera_id) {
  std::lock_guard lock(mu_);
  for (const auto& c : cameras_) {
    if (c->config.id == camera_id) return c->live;
  }
  return nullptr;
}

std::string RecorderService::status_json() {
  using nlohmann::json;
  struct Row {
    CameraConfig cfg;
    HealthSnapshot h;
    RecorderStatus r;
    std::optional<AnalyzerStats> a;
    std::optional<std::pair<HealthSnapshot, RecorderStatus>> sub;  // the recorded sub stream
  };
  std::vector<Row> rows;
  {
    std::lock_guard lock(mu_);
    for (const auto& c : cameras_) {
      const CameraAnalyzer* an = c->pipeline.analysis.analyzer.get();
      const CameraWorker* sw = c->pipeline.sub_worker.get();
      rows.push_back({c->config, c->pipeline.worker->health(), c->recorder->status(),
                      an ? std::optional(an->stats()) : std::nullopt,
                      sw ? std::optional(std::pair(sw->health(), c->sub_recorder->status()))
                         : std::nullopt});
    }
  }
  const std::vector<ComponentStatus> components = components_.snapshot();
  const auto held_full = retention_->held_full();
  json cams = json::array();
  for (const auto& [cfg, h, r, a, sub] : rows) {
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
        {"disk_full", r.disk_full},
        {"disk_error", r.disk_error},
        {"record_queue_overflows", r.queue_overflows},
        {"record_queue_dropped", r.queue_dropped},
        {"record_queue_bytes", r.queue_bytes},
        {"stored_bytes", u.bytes},
        {"stored_segments", u.segments},
        {"held_bytes", hold_store_->held_bytes(cfg.id)},
    };
    // A full disk that retention cannot free because what is left is held: the camera stays
    // stopped until a hold is released or space is added (storage.md, "Holds").
    bool stopped_by_holds = false;
    {
      std::lock_guard held_lock(held_mu_);
      if (!held_full) {
        stopped_by_holds_.clear();
      } else if (r.disk_full) {
        stopped_by_holds_.insert(cfg.id);
      }
      stopped_by_holds = stopped_by_holds_.count(cfg.id) > 0;
    }
    j["stopped_by_holds"] = stopped_by_holds;
    if (stopped_by_holds) {
      j["record_error"] = "recording stopped: the disk is full and the only footage left is "
                          "under an evidence hold (release a hold or add space): " +
                          r.last_error;
    }
    j["last_error_at"] = h.last_error_at ? format_iso8601(*h.last_error_at) : "";
    j["last_packet_at"] = h.last_packet_at ? format_iso8601(*h.last_packet_at) : "";
    // This camera's components that failed lately (ingest, analyzer): the details are in
    // "components".
    json failed = json::array();
    for (const ComponentStatus& c : components) {
      if (c.id.camera == cfg.id && c.failed) failed.push_back(c.id.component);
    }
    j["failed_components"] = failed;
    j["oldest_footage"] = u.oldest_start ? format_iso8601(*u.oldest_start) : "";
    j["newest_footage"] = u.newest_end ? format_iso8601(*u.newest_end) : "";
    if (sub) {
      // The recorded sub stream (record_sub): its connection, recorder and stored footage.
      const auto& [sh, sr] = *sub;
      const CameraUsage su = catalog_->usage(sub_stream_id(cfg.id));
      j["sub"] = {{"state", camera_state_name(sh.state)},
                  {"video_codec", sh.video_codec},
                  {"width", sh.width},
                  {"height", sh.height},
                  {"last_error", sh.last_error},
                  {"recording_file", sr.current_file},
                  {"segments_written", sr.segments_closed},
                  {"bytes_written", sr.bytes_written},
                  {"record_error", sr.last_error},
                  {"stored_bytes", su.bytes},
                  {"stored_segments", su.segments},
                  {"oldest_footage", su.oldest_start ? format_iso8601(*su.oldest_start) : ""},
                  {"newest_footage", su.newest_end ? format_iso8601(*su.newest_end) : ""}};
    }
    if (a) {
      j["analysis"] = {{"frames_analysed", a->frames_analysed},
                       {"packets_seen", a->packets_seen},
                       {"frames_decoded", a->frames_decoded},
                       {"sampled_gops", a->sampled_gops},
                       {"looked_back", a->looked_back},
                       {"packets_dropped", a->packets_dropped},
                       {"decode_errors", a->decode_errors},
                       {"signal_lost", a->signal_lost}};
    }
    cams.push_back(std::move(j));
  }
  json out = {{"updated_at", format_iso8601(clock_.wall_now())},
              {"updated_at_ms", ms_since_epoch(clock_.wall_now())},
              {"pid", static_cast<int64_t>(::getpid())},
              {"data_dir", fixed_.data_dir.string()},
              {"key_fingerprint", signer_->fingerprint},
              {"cameras", cams}};
  if (held_full) {
    out["held_full"] = {{"free_bytes", held_full->free_bytes},
                        {"held_cameras", held_full->held_cameras}};
  }
  try {
    out["disk_free_bytes"] = disk_.free_bytes(fixed_.data_dir);
    out["disk_total_bytes"] = disk_.total_bytes(fixed_.data_dir);
  } catch (const Error&) {
  }
  json notes = {{"retired_dropped", notifiers_->retired_dropped()}};
  if (auto mqtt = notifiers_->mqtt()) {
    const MqttStats m = mqtt->stats();
    notes["mqtt"] = {{"connected", m.connected},       {"connects", m.connects},
                     {"sent", m.sent},                 {"acknowledged", m.acknowledged},
                     {"dropped_full", m.dropped_full}, {"dropped_expired", m.dropped_expired},
                     {"queued", m.queued}};
  }
  if (auto hooks = notifiers_->webhooks()) {
    json list = json::array();
    for (const WebhookStats& w : hooks->stats()) {
      list.push_back({{"delivered", w.delivered},
                      {"attempts", w.attempts},
                      {"failed_attempts", w.failed_attempts},
                      {"dropped_full", w.dropped_full},
                      {"dropped_attempts", w.dropped_attempts},
                      {"queued", w.queued}});
    }
    notes["webhooks"] = list;
  }
  out["notifications"] = notes;
  if (tsa_) {
    const TsaStatus t = tsa_->status();
    out["tsa"] = {{"url", t.url},
                  {"timestamped", t.timestamped},
                  {"untimestamped", t.untimestamped},
                  {"pending", t.pending},
                  {"failed_requests", t.failed_requests},
                  {"last_error", t.last_error},
                  {"last_token_at", t.last_token_at ? format_iso8601(*t.last_token_at) : ""}};
  }
  if (archiver_) {
    const archive::ArchiveStatus a = archiver_->status();
    out["archive"] = {{"store", a.store},
                      {"reachable", a.reachable},
                      {"last_error", a.last_error},
                      {"uploaded", a.uploaded},
                      {"uploaded_bytes", a.uploaded_bytes},
                      {"waiting", a.waiting.segments},
                      {"waiting_bytes", a.waiting.bytes},
                      {"last_upload_at", a.last_upload_at ? format_iso8601(*a.last_upload_at) : ""}};
  }
  json comps = json::array();
  for (const ComponentStatus& c : components) {
    comps.push_back({{"component", c.id.component},
                     {"camera", c.id.camera},
                     {"target", c.id.target},
                     {"failed", c.failed},
                     {"restarting", c.restarting},
                     {"failures", c.failures},
                     {"last_error", c.last_error},
                     {"last_failure_at",
                      c.last_failure_at ? format_iso8601(*c.last_failure_at) : ""}});
  }
  out["components"] = comps;
  return to_json_text(out, 2);
}

void RecorderService::write_status_file() {
  const auto tmp = fixed_.data_dir / "status.json.tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << status_json() << "\n";
    if (!f) {
      spdlog::warn("{}: cannot write status", tmp.string());
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, fixed_.data_dir / "status.json", ec);
}

}  // namespace vigil
