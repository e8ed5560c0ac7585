// What notifiers (MQTT, webhooks) are told about an event, and its JSON form (the body of a
// webhook and of the MQTT `<prefix>/events` message; docs/api.md, "Event notifications").
// Also what they are told about a problem of the recorder itself that an operator must act on
// (ProblemNotice: a disk full of held footage, storage.md "Holds"), which is no event: it has no
// catalog row, no snapshot and no schedule, and it goes out whether or not the camera is armed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analyze/detection.h"
#include "core/time.h"

namespace vigil {

struct EventNotice {
  enum class Kind { kStart, kEnd } kind = Kind::kStart;
  int64_t id = 0;  // the catalog's event id (GET /api/events/{id})
  std::string camera_id;
  std::string camera_name;
  std::string type;  // detection_type_name()
  std::vector<std::string> zones;
  WallTime start;
  std::optional<WallTime> end;  // at kEnd
  double peak_score = 0;
  std::optional<NormBox> box;
  bool has_snapshot = false;
};

nlohmann::json event_notice_json(const EventNotice& n);

// A problem that stops a camera's recording until someone acts, told once when the camera
// enters it (kStart) and once when it leaves it (kEnd) — never once per check.
struct ProblemNotice {
  enum class Kind { kStart, kEnd } kind = Kind::kStart;
  std::string problem;  // "held_full": the disk is full and only held footage is left
  std::string camera_id;
  std::string camera_name;
  WallTime at;
  uint64_t free_bytes = 0;  // free on the recordings' file system when it was judged
  std::string message;      // for a human: what happened and what to do
};

nlohmann::json problem_notice_json(const ProblemNotice& n);

// A destination for notices. notify() is called on the events writer thread and must not block
// on the network: implementations queue (bounded), send from their own thread, retry, and count
// what they drop.
class EventNotifier {
 public:
  virtual ~EventNotifier() = default;
  virtual void notify(const EventNotice& n) = 0;
};

// A destination for problem notices; same rules as EventNotifier::notify (never blocks).
class ProblemNotifier {
 public:
  virtual ~ProblemNotifier() = default;
  virtual void notify_problem(const ProblemNotice& n) = 0;
};

}  // namespace vigil
