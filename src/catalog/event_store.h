// Events in the catalog (migration 3 in catalog.cpp): one row per event, written by the events
// stage as the event starts, grows and ends, read by the API. Types are stored by name
// ("motion", "tamper_covered", ...: analyze/detection.h) so the catalog needs nothing of analysis.
// Crash safety: an open event's end_ms is kept at its last known time while it lasts, so
// close_open_events() at start leaves a row whose range is what was really seen. A snapshot file
// is written before the row names it (set_snapshot after the file is in place).
// Thread-safe: its own connection (SQLite or PostgreSQL) behind a mutex (like AccountStore), so API
// reads never wait on the recorder's connection. Construct it after a Catalog has migrated the
// file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql.h"
#include "core/time.h"

namespace vigil {

struct EventBox {
  double x = 0, y = 0, w = 0, h = 0;  // normalised picture coordinates
};

struct EventRow {
  int64_t id = 0;
  std::string camera_id;
  std::string type;  // detection_type_name()
  bool open = true;
  WallTime start;
  WallTime end;  // while open: the last time the condition was seen
  std::vector<std::string> zones;
  double peak_score = 0;
  WallTime peak_at;
  std::optional<EventBox> box;  // at the peak
  bool armed = true;            // inside an armed schedule: alerted
  std::string snapshot;         // relative to the data directory; "" until written
  std::string close_reason;     // "ended", "vigil stopped", ...
};

struct EventFilter {
  // Cameras the caller may see; nullopt = every camera. Empty list = none.
  std::optional<std::vector<std::string>> cameras;
  std::optional<std::string> type;
  std::optional<std::string> zone;
  std::optional<WallTime> from;  // events overlapping [from, to)
  std::optional<WallTime> to;
  std::optional<int64_t> before_id;  // pagination: the events after this one, in find()'s order
  int limit = 100;
};

class EventStore {
 public:
  // Opens the catalog at `location` (a file, or a postgresql:// URL: sql::open).
  explicit EventStore(const std::string& location);

  // Inserts an open event (id, open and close_reason are ignored); returns its id.
  int64_t insert(const EventRow& e);
  // The event grew: new last-seen time, peak and zones.
  void update(const EventRow& e);
  void set_snapshot(int64_t id, const std::string& relative_path);
  void close(int64_t id, WallTime end, const std::string& reason);
  // At start: closes events left open by a crash at their last known time. Returns how many.
  int close_open_events(const std::string& reason);

  // Retention: removes the closed events of `camera` that ended before `cutoff`; returns their
  // snapshot paths (relative), for the caller to delete after the rows (storage.md's order).
  // Events for which `keep(start, end)` is true stay (evidence holds, retention/held_footage.h).
  using KeepFn = std::function<bool(WallTime start, WallTime end)>;
  std::vector<std::string> delete_ended_before(const std::string& camera, WallTime cutoff,
                                               const KeepFn& keep = {});

  std::optional<EventRow> get(int64_t id);
  // Newest first by (start, id); before_id pages on after that event. Read on the index of the
  // camera (one camera) or the type, else on start: a page costs its rows plus those the other
  // filters (several cameras, a zone) pass over. A window is read from its start less the
  // longest event (event_longest).
  std::vector<EventRow> find(const EventFilter& f);
  // Events of a camera overlapping [from, to), oldest first (retention); read like find()'s
  // one-camera window.
  std::vector<EventRow> between(const std::string& camera, WallTime from, WallTime to);

  // What the statements run so far cost SQLite (sqlite.h), for tests of read bounds.
  sql::StatementCost cost() {
    std::lock_guard lock(mu_);
    return db_->cost();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;
};

}  // namespace vigil
