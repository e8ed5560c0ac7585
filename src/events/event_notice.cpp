#include "events/event_notice.h"

namespace vigil {

nlohmann::json event_notice_json(const EventNotice& n) {
  nlohmann::json j = {{"event", n.kind == EventNotice::Kind::kStart ? "start" : "end"},
                      {"id", n.id},
                      {"camera", n.camera_id},
                      {"camera_name", n.camera_name},
                      {"type", n.type},
                      {"zones", n.zones},
                      {"start", format_iso8601(n.start)},
                      {"start_ms", ms_since_epoch(n.start)},
                      {"end", n.end ? nlohmann::json(format_iso8601(*n.end)) : nlohmann::json()},
                      {"end_ms", n.end ? nlohmann::json(ms_since_epoch(*n.end)) : nlohmann::json()},
                      {"peak_score", n.peak_score},
                      {"url", "/api/events/" + std::to_string(n.id)}};
  j["box"] =
      n.box ? nlohmann::json{{"x", n.box->x}, {"y", n.box->y}, {"w", n.box->w}, {"h", n.box->h}}
            : nlohmann::json();
  j["snapshot"] = n.has_snapshot
                      ? nlohmann::json("/api/events/" + std::to_string(n.id) + "/snapshot.jpg")
                      : nlohmann::json();
  return j;
}

nlohmann::json problem_notice_json(const ProblemNotice& n) {
  return {{"problem", n.problem},
          {"state", n.kind == ProblemNotice::Kind::kStart ? "start" : "end"},
          {"camera", n.camera_id},
          {"camera_name", n.camera_name},
          {"at", format_iso8601(n.at)},
          {"at_ms", ms_since_epoch(n.at)},
          {"free_bytes", n.free_bytes},
          {"message", n.message}};
}

}  // namespace vigil
