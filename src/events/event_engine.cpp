#include "events/event_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/error.h"
#include "events/snapshot_file.h"

namespace vigil {
namespace {

constexpr DetectionType kAllTypes[] = {DetectionType::kMotion, DetectionType::kCovered,
                                       DetectionType::kDefocused, DetectionType::kMoved,
                                       DetectionType::kSignalLost};

// Several detections of one type in a frame (motion in two zones) are one level: the highest
// score with its box, and every zone.
std::optional<Detection> merged(const AnalysisResult& r, DetectionType type) {
  std::optional<Detection> out;
  for (const auto& d : r.detections) {
    if (d.type != type) continue;
    if (!out) {
      out = d;
      continue;
    }
    for (const auto& z : d.zones) {
      if (std::find(out->zones.begin(), out->zones.end(), z) == out->zones.end()) {
        out->zones.push_back(z);
      }
    }
    if (d.score > out->score) {
      out->score = d.score;
      out->box = d.box;
    }
  }
  return out;
}

}  // namespace

EventEngine::EventEngine(const Config& config, EventStore& store,
                         std::vector<EventNotifier*> notifiers, const Clock& clock,
                         ComponentRegistry* components)
    : config_(config),
      store_(store),
      notifiers_(std::move(notifiers)),
      clock_(clock),
      settings_{config.events.min_duration, config.events.merge_gap},
      writer_(components, {"events", "", ""}, "events") {
  set_cameras(config);
  if (const int n = store_.close_open_events("vigil stopped"); n > 0) {
    spdlog::info("events: closed {} event(s) left open by the last run at their last known time",
                 n);
  }
  writer_.start([this] { run(); },
                 [this](const std::string&) {
                   // The job in hand is lost: flush() must not wait for it.
                   std::lock_guard lock(mu_);
                   busy_ = false;
                   ++stats_.write_failures;
                   if (queue_.empty()) idle_cv_.notify_all();
                 });
}

void EventEngine::set_cameras(const Config& next) {
  const TimeZone zone =
      next.events.time_zone.empty() ? TimeZone() : TimeZone(next.events.time_zone);
  std::map<std::string, Schedule> schedules;
  std::map<std::string, std::string> names;
  for (const auto& c : next.cameras) {
    schedules.emplace(c.id, Schedule(c.schedule, zone));
    names[c.id] = c.name;
  }
  std::lock_guard lock(mu_);
  schedules_ = std::move(schedules);
  names_ = std::move(names);
  const TrackerSettings settings{next.events.min_duration, next.events.merge_gap};
  if (settings.min_duration != settings_.min_duration || settings.merge_gap != settings_.merge_gap) {
    settings_ = settings;
    ++settings_generation_;
  }
}

EventEngine::~EventEngine() {
  {
    std::lock_guard lock(mu_);
    for (auto& [k, t] : tracks_) {
      if (!t.tracker.active() || !t.queued) continue;
      // The tracker's view of the event, as it ends now.
      TrackerStep step = t.tracker.expire(WallTime::max());
      if (step.kind != TrackerStep::Kind::kEnded) continue;
      Job j{Job::Kind::kEnd, t.key, row_of(k, t, step.event), {}, "vigil stopped"};
      push(std::move(j), true);
    }
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.stop();
}

EventRow EventEngine::row_of(const TrackKey& k, const Track& t, const TrackedEvent& ev) const {
  EventRow row;
  row.camera_id = k.first;
  row.type = std::string(detection_type_name(k.second));
  row.start = ev.start;
  row.end = ev.last_seen;
  row.zones.assign(ev.zones.begin(), ev.zones.end());
  row.peak_score = ev.peak_score;
  row.peak_at = ev.peak_at;
  if (ev.box) row.box = EventBox{ev.box->x, ev.box->y, ev.box->w, ev.box->h};
  row.armed = t.armed;
  return row;
}

bool EventEngine::push(Job job, bool must) {
  if (!must && queue_.size() >= config_.events.queue_limit) {
    ++stats_.dropped;
    return false;
  }
  queue_.push_back(std::move(job));
  cv_.notify_one();
  return true;
}

void EventEngine::apply(const TrackKey& k, Track& t, const TrackerStep& step,
                        const AnalysisResult* r) {
  using Kind = TrackerStep::Kind;
  const TrackedEvent& ev = step.event;
  switch (step.kind) {
    case Kind::kNone:
      return;
    case Kind::kStarted: {
      ++stats_.events_started;
      t.key = next_key_++;
      const auto sched = schedules_.find(k.first);
      const std::vector<std::string> zones(ev.zones.begin(), ev.zones.end());
      t.armed = sched == schedules_.end() ||
                sched->second.armed(ev.start, detection_type_name(k.second), zones);
      t.zones = ev.zones.size();
      t.last_progress = ev.last_seen;
      t.last_snapshot = ev.last_seen;
      Job j{Job::Kind::kStart, t.key, row_of(k, t, ev), {}, {}};
      if (r && r->snapshot_jpeg) j.jpeg = r->snapshot_jpeg();
      t.queued = push(std::move(j), false);
      return;
    }
    case Kind::kGrew: {
      if (!t.queued) return;
      const bool snapshot = step.new_peak && r && r->snapshot_jpeg &&
                            ev.last_seen - t.last_snapshot >= kSnapshotInterval;
      const bool progress = step.new_peak || ev.zones.size() != t.zones ||
                            ev.last_seen - t.last_progress >= kProgressInterval;
      if (!progress) return;
      Job j{Job::Kind::kUpdate, t.key, row_of(k, t, ev), {}, {}};
      if (snapshot) j.jpeg = r->snapshot_jpeg();
      if (push(std::move(j), false)) {
        t.zones = ev.zones.size();
        t.last_progress = ev.last_seen;
        if (snapshot) t.last_snapshot = ev.last_seen;
      }
      return;
    }
    case Kind::kEnded:
      ++stats_.events_ended;
      if (t.queued) push(Job{Job::Kind::kEnd, t.key, row_of(k, t, ev), {}, "ended"}, true);
      t.queued = false;
      return;
  }
}

void EventEngine::on_analysis(const AnalysisResult& r) {
  std::lock_guard lock(mu_);
  ++stats_.results;
  for (const DetectionType type : kAllTypes) {
    const std::optional<Detection> d = merged(r, type);
    const TrackKey key{r.camera_id, type};
    auto it = tracks_.find(key);
    if (it == tracks_.end()) {
      if (!d) continue;
      it = tracks_.emplace(key, Track(settings_, settings_generation_)).first;
    }
    Track& t = it->second;
    if (t.generation != settings_generation_ && t.tracker.idle()) {
      // Between events: the new hysteresis applies from here.
      t.tracker = EventTracker(settings_);
      t.generation = settings_generation_;
    }
    apply(key, t, t.tracker.observe(r.at, d ? &*d : nullptr), &r);
  }
}

void EventEngine::raise_instant(const std::string& camera, const std::string& type, WallTime at,
                                const std::string& reason) {
  std::lock_guard lock(mu_);
  ++stats_.events_started;
  ++stats_.events_ended;
  EventRow row;
  row.camera_id = camera;
  row.type = type;
  row.start = at;
  row.end = at;
  row.peak_at = at;
  row.peak_score = 1;
  const auto sched = schedules_.find(camera);
  row.armed = sched == schedules_.end() || sched->second.armed(at, type, {});
  const uint64_t key = next_key_++;
  // The end must follow a start that was queued; a start dropped by a full queue takes its end
  // with it (the writer would find no row to close).
  if (push(Job{Job::Kind::kStart, key, row, {}, {}}, false)) {
    push(Job{Job::Kind::kEnd, key, row, {}, reason}, true);
  }
}

void EventEngine::expire() {
  const WallTime now = clock_.wall_now();
  std::lock_guard lock(mu_);
  for (auto& [k, t] : tracks_) apply(k, t, t.tracker.expire(now), nullptr);
}

void EventEngine::flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

EventEngineStats EventEngine::stats() const {
  std::lock_guard lock(mu_);
  EventEngineStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void EventEngine::run() {
  constexpr auto kExpireEvery = std::chrono::milliseconds(250);
  auto next_expire = std::chrono::steady_clock::now() + kExpireEvery;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_expire, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) return;
        lock.unlock();
        if (std::chrono::steady_clock::now() >= next_expire) {
          expire();
          next_expire = std::chrono::steady_clock::now() + kExpireEvery;
        }
        continue;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    write(job);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }
}

void EventEngine::write(Job& job) {
  EventRow& row = job.row;
  uint64_t written = 0;
  uint64_t failed = 0;
  try {
    if (job.kind == Job::Kind::kStart) {
      row.id = store_.insert(row);
      ids_[job.key] = row.id;
    } else {
      auto it = ids_.find(job.key);
      if (it == ids_.end()) return;  // its start failed: nothing to grow or end
      row.id = it->second;
      store_.update(row);
    }
    if (!job.jpeg.empty()) {
      // The file first, then the row that names it (a replaced picture keeps the same name).
      const std::string rel = snapshot_relative_path(row.camera_id, row.id);
      try {
        write_file_atomically(config_.data_dir / rel, job.jpeg);
        // Idempotent; also names a picture that first came with an update.
        store_.set_snapshot(row.id, rel);
        row.snapshot = rel;
        ++written;
      } catch (const Error& e) {
        ++failed;
        spdlog::warn("events: camera {}: event {} snapshot: {}", row.camera_id, row.id, e.what());
      }
    }
    if (job.kind == Job::Kind::kStart) {
      if (row.armed) notify(row, EventNotice::Kind::kStart);
    } else if (job.kind == Job::Kind::kEnd) {
      store_.close(row.id, row.end, job.reason);
      ids_.erase(job.key);
      auto stored = store_.get(row.id);
      row.snapshot = stored ? stored->snapshot : "";
      if (row.armed) notify(row, EventNotice::Kind::kEnd);
    }
  } catch (const Error& e) {
    ++failed;
    spdlog::error("events: camera {}: {} event: {}", row.camera_id, row.type, e.what());
  }
  std::lock_guard lock(mu_);
  stats_.snapshots_written += written;
  stats_.write_failures += failed;
}

void EventEngine::notify(const EventRow& row, EventNotice::Kind kind) {
  EventNotice n;
  n.kind = kind;
  n.id = row.id;
  n.camera_id = row.camera_id;
  {
    std::lock_guard lock(mu_);
    const auto name = names_.find(row.camera_id);
    n.camera_name = name != names_.end() ? name->second : row.camera_id;
  }
  n.type = row.type;
  n.zones = row.zones;
  n.start = row.start;
  if (kind == EventNotice::Kind::kEnd) n.end = row.end;
  n.peak_score = row.peak_score;
  if (row.box)
    n.box = NormBox{static_cast<float>(row.box->x), static_cast<float>(row.box->y),
                    static_cast<float>(row.box->w), static_cast<float>(row.box->h)};
  n.has_snapshot = !row.snapshot.empty();
  for (EventNotifier* notifier : notifiers_) notifier->notify(n);
  if (kind == EventNotice::Kind::kStart) {
    std::lock_guard lock(mu_);
    ++stats_.alerts;
  }
}

}  // namespace vigil
