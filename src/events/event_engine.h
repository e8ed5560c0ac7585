// The events stage: an AnalysisSink for every camera that turns analysis results into events
// (hysteresis per camera and detection type: event_tracker.h), decides whether each is armed
// (schedule.h), and hands the catalog writes, snapshot files and notifications to its own writer
// thread through a bounded queue, so on_analysis never waits on the disk or the network.
//
// Threads: on_analysis() may be called from any number of analysis threads at once (one mutex,
// held for microseconds). It calls AnalysisResult::snapshot_jpeg on the calling thread when an
// event starts, and again at a new peak at most every kSnapshotInterval, so the frame it encodes
// is the one analysed (a JPEG of an analysis-size frame costs about a millisecond).
// The writer thread stores rows, writes snapshots, calls the notifiers, and every 250 ms ends
// events whose camera stopped sending results (expire()).
// Queue policy: starts and updates are dropped (and counted) when the queue is full; the end of an
// event whose start was queued is always queued (at most one per open event), so the catalog
// never keeps an event open that analysis closed.
// Failures: the writer thread ("events") is supervised (core/supervision.h): a job that throws
// anything is dropped and counted in write_failures, the "events" component reads failed, and
// the writer starts again after a backoff (the queue waits meanwhile; starts and updates
// beyond queue_limit are dropped as usual).
// Lifetime: store, notifiers, clock and components must outlive the engine. The destructor closes open events
// at their last sighting ("vigil stopped"), drains the queue and joins the writer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "analyze/detection.h"
#include "catalog/event_store.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "events/event_notice.h"
#include "events/event_tracker.h"
#include "events/schedule.h"

namespace vigil {

struct EventEngineStats {
  uint64_t results = 0;         // analysis results received
  uint64_t events_started = 0;  // events started (armed or not)
  uint64_t events_ended = 0;
  uint64_t alerts = 0;   // starts that were armed and went to the notifiers
  uint64_t dropped = 0;  // queue full: starts/updates not stored
  uint64_t snapshots_written = 0;
  uint64_t write_failures = 0;  // catalog or snapshot writes that failed (logged)
  uint64_t queued = 0;          // waiting for the writer now
};

class EventEngine final : public AnalysisSink {
 public:
  static constexpr WallDuration kSnapshotInterval{2'000};
  // While an event lasts its row's end is refreshed at least this often (what a crash keeps).
  static constexpr WallDuration kProgressInterval{2'000};

  // Events of the cameras in `config` (schedules, names; settings from config.events); snapshots
  // under config.data_dir. Closes events left open by an earlier run. Starts the writer thread.
  // Its failures are reported in `components` (null: only logged).
  EventEngine(const Config& config, EventStore& store, std::vector<EventNotifier*> notifiers,
              const Clock& clock, ComponentRegistry* components = nullptr);
  ~EventEngine() override;
  EventEngine(const EventEngine&) = delete;
  EventEngine& operator=(const EventEngine&) = delete;

  void on_analysis(const AnalysisResult& r) override;
  // The configuration changed at run time (ConfigStore): the cameras' schedules and names, and
  // [events] min_duration, merge_gap and time_zone, from now on. An event that is open keeps
  // the armedness it started with and finishes under the hysteresis it started with; new
  // candidates use the new values. (queue_limit and the snapshot folder stay as at start.)
  void set_cameras(const Config& next);
  // Ends events whose camera has sent nothing for merge_gap (by the clock's wall time).
  void expire();
  // An event that is over as it is raised, not tracked by hysteresis: a till's exception
  // (type "transaction": transactions/exception_rules.h) at one moment of `camera`. Stored, and
  // notified when the camera's schedule arms `type` at `at`, like any other; `reason` is its
  // close reason ("refund of 60.00 above 50.00"). Any thread; never waits on the writer.
  void raise_instant(const std::string& camera, const std::string& type, WallTime at,
                     const std::string& reason);
  // Waits until everything queued so far is written and notified (tests, shutdown).
  void flush();
  EventEngineStats stats() const;

 private:
  struct Track {
    Track(TrackerSettings s, uint64_t gen) : tracker(s), generation(gen) {}
    EventTracker tracker;
    uint64_t generation = 0;  // of settings_ the tracker was made with
    uint64_t key = 0;     // the writer's handle for the current event
    bool queued = false;  // its start reached the queue: updates and the end follow it
    bool armed = true;
    WallTime last_snapshot;
    WallTime last_progress;
    size_t zones = 0;
  };
  struct Job {
    enum class Kind { kStart, kUpdate, kEnd } kind = Kind::kStart;
    uint64_t key = 0;
    EventRow row;
    std::vector<uint8_t> jpeg;
    std::string reason;  // kEnd
  };
  using TrackKey = std::pair<std::string, DetectionType>;

  // With mu_ held.
  void apply(const TrackKey& k, Track& t, const TrackerStep& step, const AnalysisResult* r);
  bool push(Job job, bool must);
  EventRow row_of(const TrackKey& k, const Track& t, const TrackedEvent& ev) const;

  void run();
  void write(Job& job);
  void notify(const EventRow& row, EventNotice::Kind kind);

  const Config config_;  // as at start: data_dir and [events] queue_limit
  EventStore& store_;
  std::vector<EventNotifier*> notifiers_;
  const Clock& clock_;
  TrackerSettings settings_;       // guarded by mu_; changes with set_cameras
  uint64_t settings_generation_ = 0;  // guarded by mu_
  std::map<std::string, Schedule> schedules_;   // guarded by mu_
  std::map<std::string, std::string> names_;     // camera id -> name; guarded by mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;       // writer: work or stop
  std::condition_variable idle_cv_;  // flush(): queue drained
  std::map<TrackKey, Track> tracks_;
  std::deque<Job> queue_;
  bool busy_ = false;  // the writer holds a job outside the queue
  bool stopping_ = false;
  uint64_t next_key_ = 1;
  EventEngineStats stats_;
  std::map<uint64_t, int64_t> ids_;  // writer thread only: key -> catalog id
  SupervisedThread writer_;          // last: starts after everything it uses
};

}  // namespace vigil
