// What notifiers (MQTT, webhooks) are told about an event, and its JSON form (the body of a
// webhook and of the MQTT `<prefix>/events` message; docs/api.md, "Event notifications").
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

// A destination for notices. notify() is called on the events writer thread and must not block
// on the network: implementations queue (bounded), send from their own thread, retry, and count
// what they drop.
class EventNotifier {
 public:
  virtual ~EventNotifier() = default;
  virtual void notify(const EventNotice& n) = 0;
};

}  // namespace vigil
