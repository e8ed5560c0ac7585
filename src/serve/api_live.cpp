// The API's live routes: live view (fMP4 over a chunked HTTP response, docs/design/live.md),
// snapshots and /metrics. Kept apart from api.cpp because they depend on the live hubs.
#include <spdlog/spdlog.h>

#include "serve/api.h"
#include "serve/live_hub.h"
#include "serve/metrics.h"
#include "serve/snapshot.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

Response offline(const std::string& camera_id) {
  return Response::error(
      503, "camera " + camera_id + " is not streaming now (offline or connecting); see its status");
}

}  // namespace

void Api::set_live(LiveHubFn hub) {
  live_hub_ = std::move(hub);
  snapshots_ = std::make_shared<SnapshotCache>();
}

std::shared_ptr<LiveHub> Api::live_hub_for(const std::string& camera_id) {
  std::shared_ptr<LiveHub> hub = live_hub_ ? live_hub_(camera_id) : nullptr;
  if (!hub) throw Error(ErrorCode::kUnavailable, "camera " + camera_id + " has no live view");
  return hub;
}

Response Api::live(Call& call) {
  const std::string id = call.params["id"];
  const std::shared_ptr<LiveHub> hub = live_hub_for(id);
  const std::string codec = hub->codec();
  if (codec == "hevc") {
    // Chromium and Firefox cannot decode H.265: say so instead of showing a black player.
    return Response::json(
        422, {{"error", "unsupported_codec"},
              {"codec", codec},
              {"detail", "camera " + id +
                             " sends H.265 (HEVC), which browsers cannot play; its recordings "
                             "can be downloaded as MP4 and played in a desktop player"}});
  }
  auto attached = hub->attach();
  if (!attached) return offline(id);
  const std::string user = call.principal->user.name;
  const std::string address = call.request.remote_address;
  const WallTime started = clock_.wall_now();
  {
    AuditEntry e;
    e.at = started;
    e.user_name = user;
    e.address = address;
    e.action = "live_start";
    e.camera_id = id;
    e.detail = codec;
    accounts_.append_audit(e);
  }
  std::weak_ptr<LiveViewer> weak = attached->viewer;
  attached->viewer->on_close([this, weak, user, address, id, started] {
    AuditEntry e;
    e.at = clock_.wall_now();
    e.user_name = user;
    e.address = address;
    e.action = "live_stop";
    e.camera_id = id;
    e.detail = "watched " + std::to_string(ms_since_epoch(e.at) - ms_since_epoch(started)) + " ms";
    if (auto v = weak.lock()) {
      const auto c = v->counters();
      if (c.skips) e.detail += ", skipped to a keyframe " + std::to_string(c.skips) + " time(s)";
      if (c.dropped) e.detail += ", dropped for not reading";
    }
    try {
      accounts_.append_audit(e);
    } catch (const std::exception& ex) {
      spdlog::error("audit live_stop of {} on {}: {}", user, id, ex.what());
    }
  });
  Response r;
  // RFC 6381 codecs parameter: the player hands this type to MediaSource.addSourceBuffer().
  r.content_type = attached->mime.empty() ? "video/mp4" : attached->mime;
  r.stream = attached->viewer;
  return r;
}

Response Api::snapshot(Call& call) {
  const std::string id = call.params["id"];
  auto k = live_hub_for(id)->latest_keyframe();
  if (!k) return offline(id);
  Response r;
  r.content_type = "image/jpeg";
  r.body = *snapshots_->jpeg(id, *k);
  return r;
}

Response Api::metrics(Call&) {
  json status = status_ ? status_() : json::object();
  std::vector<std::pair<std::string, LiveStats>> live;
  for (const auto& c : configs_.current()->cameras) {
    std::shared_ptr<LiveHub> hub = live_hub_ ? live_hub_(c.id) : nullptr;
    if (hub) live.emplace_back(c.id, hub->stats());
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = prometheus_metrics(status, live);
  return r;
}

}  // namespace vigil
