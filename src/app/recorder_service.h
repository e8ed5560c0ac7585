// `vigil serve`: the long-lived components of one recorder node, started in order and stopped in
// reverse — catalog (with crash recovery), retention, then one ingest thread + recorder + live
// hub per camera, and the status reporter. The camera set follows the configuration while
// running (apply()): a camera added through the API starts recording without a restart.
// Every thread it starts is supervised and reports its failures in the ComponentRegistry given
// (docs/design/threads.md); status_json() lists them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "analyze/camera_analyzer.h"
#include "app/analysis_tap.h"
#include "app/tsa_stamper.h"
#include "archive/archiver.h"
#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "catalog/holds.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "events/event_engine.h"
#include "events/notifier_set.h"
#include "ingest/camera_worker.h"
#include "record/open_segments.h"
#include "record/recorder.h"
#include "retention/retention.h"
#include "serve/live_hub.h"

namespace vigil {

class RecorderService {
 public:
  // data_dir, segment length, ingest settings and min_free_space are fixed for the service's
  // life; the cameras follow apply(). `components` must outlive the service.
  RecorderService(const Config& config, const Clock& clock, ComponentRegistry& components);
  ~RecorderService();

  // Starts recording, retention, the tsa stamper (with [integrity] tsa_url) and the status
  // writer ("status" thread: status.json every `status_period`).
  void start(std::chrono::milliseconds status_period = std::chrono::seconds(5));
  void stop();
  // Brings the running cameras in line with `next`: starts added ones, stops removed ones
  // (their recordings stay), reconnects ones whose main stream settings changed, replaces only
  // the analysis of ones whose analysis settings (or sub stream) changed, and hands retention
  // and the events stage the new limits, recording modes and schedules; the events stage gets
  // the new [events] settings and changed [mqtt] / [[webhook]] targets are replaced (recording
  // and analysis go on untouched).
  // Serialized; safe to call from any thread (the ConfigStore's subscriber).
  void apply(const Config& next);
  // Per-camera health + recorder state + disk + the components (failed or not), as JSON
  // (status.json, the API, /metrics).
  std::string status_json();
  // The camera's live view hub; null for an unknown id.
  std::shared_ptr<LiveHub> live_hub(const std::string& camera_id);
  // Writes <data>/status.json atomically.
  void write_status_file();
  // What the recorders have synced of the files they are writing, for playback (the API reads
  // it on its own threads); lives as long as the service.
  const OpenSegments& open_segments() const { return open_segments_; }
  // What the catalog's statements have cost SQLite so far: tests prove with it that a status
  // does not read O(archive) rows (catalog/sqlite.h).
  sql::StatementCost catalog_cost() { return catalog_->cost(); }
  // The audit log's chain head, signed into every checkpoint (docs/design/integrity.md); until
  // set, zeros. Call before start(): the recorders read it on their writer threads.
  void set_audit_head(std::function<Sha256()> audit_head) { audit_head_ = std::move(audit_head); }
  // Records that follow footage (till transactions): Retention::set_follow_footage. Before start().
  void set_follow_footage(Retention::FollowFootageFn fn) { retention_->set_follow_footage(std::move(fn)); }
  // Retention::release_reserve: room on a full disk for a catalog write (the API's).
  bool release_space_reserve() { return retention_->release_reserve(); }
  // An instant event from outside analysis (a till's exception): EventEngine::raise_instant.
  void raise_event(const std::string& camera, const std::string& type, WallTime at,
                   const std::string& reason) {
    events_->raise_instant(camera, type, at, reason);
  }
  // The fingerprint of the key that signs checkpoints (status, API).
  const std::string& key_fingerprint() const { return signer_->fingerprint; }

 private:
  // The analysis of a camera: replaced on its own when only analysis settings (zones,
  // sensitivity, the sub stream) change, so that recording goes on meanwhile.
  struct Analysis {
    std::unique_ptr<CameraAnalyzer> analyzer;  // when analysis is enabled; feeds events_
    // The sub stream, when analysed and not recorded: analyzer only (a recorded sub stream
    // feeds the analyzer through CameraParts::sub_tap).
    std::unique_ptr<CameraWorker> sub_worker;
  };
  // What connects to a camera and what only exists for that connection: replaced as a whole
  // when the camera's main stream settings change.
  struct Pipeline {
    Analysis analysis;
    // The workers last: stopped and destroyed before the sinks they feed.
    std::unique_ptr<CameraWorker> sub_worker;  // record_sub: the sub recorder, sub analysis tap
    std::unique_ptr<CameraWorker> worker;  // the main stream: recorder, live, analysis tap
    void start();
    void stop();
  };
  struct CameraParts {
    CameraConfig config;
    std::unique_ptr<Recorder> recorder;  // kept across pipelines: one per camera
    std::shared_ptr<LiveHub> live;       // kept too: viewers ride through a reconnect
    AnalysisTap tap;                     // the main stream's way to the current analyzer
    // record_sub: the sub stream's recorder (catalog id sub_stream_id()), made when first
    // needed and kept like `recorder`, and the recorded sub stream's way to the analyzer.
    std::unique_ptr<Recorder> sub_recorder;
    AnalysisTap sub_tap;
    Pipeline pipeline;
  };
  std::unique_ptr<CameraParts> make_camera(const CameraConfig& cam);
  std::unique_ptr<Recorder> make_recorder(const std::string& catalog_id);
  // Points the main and the sub stream's taps at the analyzer of `cam` (or at nothing).
  void attach_taps(CameraParts& parts, const CameraConfig& cam, CameraAnalyzer* analyzer);
  Pipeline make_pipeline(const CameraConfig& cam, CameraParts& parts);
  Analysis make_analysis(const CameraConfig& cam);
  // Stops `parts`' analysis and starts one for `cam`, leaving the main connection alone.
  void replace_analysis(CameraParts& parts, const CameraConfig& cam);
  std::map<std::string, RetentionLimits> retention_limits(const Config& config);
  // Cameras recorded in mode "events", with what retention keeps of them.
  std::map<std::string, EventFootagePolicy> events_only(const Config& config) const;
  // Replaces the notifiers whose settings differ from what runs (apply_mu_ held).
  void apply_notifiers(const Config& next);

  const Config fixed_;  // the configuration at start; its camera list is not used after
  const Clock& clock_;
  ComponentRegistry& components_;
  StatvfsDiskSpace disk_;
  // Filled by the recorders, read by playback; declared before the cameras, whose recorders
  // write to it until they are destroyed.
  OpenSegments open_segments_;
  std::unique_ptr<Catalog> catalog_;
  std::function<Sha256()> audit_head_;  // set before start()
  // Shared by every camera's recorder; made once, in the constructor.
  std::shared_ptr<const CheckpointSigner> signer_;
  // RFC 3161 tokens for the checkpoints the recorders store; only with [integrity] tsa_url.
  std::unique_ptr<TsaStamper> tsa_;
  std::unique_ptr<Retention> retention_;
  // Uploads closed segments to the object store; only with [archive].
  std::unique_ptr<archive::Archiver> archiver_;
  // Events: analysis results -> catalog rows, snapshots and alerts (docs/design/events.md).
  // Declared before the cameras, whose analyzers feed them: destroyed after them.
  std::unique_ptr<EventStore> event_store_;
  std::unique_ptr<HoldStore> hold_store_;  // evidence holds, which retention keeps
  // Cameras whose recorder hit a full disk while retention had nothing but held footage left
  // (Retention::held_full): they stay listed while that lasts, not only in the moments between
  // a retry's ENOSPC and the next retry opening a file.
  std::mutex held_mu_;
  std::set<std::string> stopped_by_holds_;  // guarded by held_mu_
  // [mqtt] and [[webhook]], replaced by apply() when they change.
  std::unique_ptr<NotifierSet> notifiers_;
  MqttSettings mqtt_settings_;             // what notifiers_ runs; guarded by apply_mu_
  std::vector<WebhookTarget> webhook_settings_;  // likewise
  std::unique_ptr<EventEngine> events_;

  std::mutex apply_mu_;  // one apply() at a time; held while cameras start and stop
  bool started_ = false;  // guarded by apply_mu_
  std::mutex mu_;         // guards cameras_ (status and lookups take it briefly)
  std::vector<std::unique_ptr<CameraParts>> cameras_;  // in configuration order
  // Writes status.json periodically; last: stopped first.
  SupervisedThread status_writer_;
};

}  // namespace vigil
