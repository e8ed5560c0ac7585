// The events routes of the API: list and search events (camera, type, zone, time range, paged
// newest first), one event, its snapshot, and its clip (an export of the event's range plus the
// configured pre/post roll, through Playback's export queue and audited like any export).
// Registered by Api next to the other routes and run through the same authentication,
// authorization and error mapping; as with segments, the camera of an event row is checked here
// (the path names an event, not a camera). A viewer sees only the events of their cameras.
// Thread-safe; the catalog connection is opened on first use.
#pragma once

#include <memory>
#include <mutex>

#include "catalog/event_store.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_store.h"
#include "serve/playback.h"
#include "serve/router.h"

namespace vigil {

class EventsApi {
 public:
  // All must outlive the EventsApi.
  EventsApi(const ConfigStore& configs, const Clock& clock, Playback& playback);
  ~EventsApi();

  void add_routes(Router& router);

  http::Response list(Call& call);
  http::Response event(Call& call);
  http::Response snapshot(Call& call);
  http::Response clip(Call& call);

 private:
  EventStore& store();
  // The event named by the path, if the caller may see its camera; else throws.
  EventRow visible_event(const Call& call);

  const ConfigStore& configs_;
  const Clock& clock_;
  Playback& playback_;
  std::mutex mu_;
  std::unique_ptr<EventStore> store_;
};

}  // namespace vigil
