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

// A live stream that asks, every `every` while it flows, whether its viewer may still watch:
// logout, session expiry, a revoked or expired token, user removal, a role or camera-list
// change end it within that time instead of when the viewer closes the page. The question is
// asked from the I/O thread that pulls, at most once per interval per stream (a catalog read).
class RecheckedStream final : public http::BodyStream {
 public:
  RecheckedStream(std::shared_ptr<http::BodyStream> inner, std::function<bool()> allowed,
                  const Clock& clock, std::chrono::milliseconds every)
      : inner_(std::move(inner)),
        allowed_(std::move(allowed)),
        clock_(clock),
        every_(every),
        next_check_(clock.steady_now() + every) {}

  void pull(std::function<void(Chunks)> ready) override {
    if (clock_.steady_now() >= next_check_) {
      next_check_ = clock_.steady_now() + every_;
      bool ok = false;
      try {
        ok = allowed_();
      } catch (const std::exception& e) {
        spdlog::warn("live: re-checking a viewer's rights failed ({}): ending the stream", e.what());
      }
      if (!ok) {
        inner_->close();
        ready({});
        return;
      }
    }
    inner_->pull(std::move(ready));
  }
  void close() override { inner_->close(); }

 private:
  const std::shared_ptr<http::BodyStream> inner_;
  const std::function<bool()> allowed_;
  const Clock& clock_;
  const std::chrono::milliseconds every_;
  SteadyTime next_check_;  // only the one pulling thread touches it
};

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
  constexpr std::chrono::seconds kRecheckEvery{2};
  r.stream = std::make_shared<RecheckedStream>(
      attached->viewer,
      [this, who = *call.principal, id] { return still_may_watch(who, id); }, clock_,
      kRecheckEvery);
  return r;
}

bool Api::still_may_watch(const Principal& who, const std::string& camera_id) {
  const WallTime now = clock_.wall_now();
  int64_t user_id = 0;
  if (who.via == Principal::Via::kSession) {
    const auto s = accounts_.session(who.session_sha256);
    if (!s || now >= s->expires) return false;
    user_id = s->user_id;
  } else {
    const auto t = accounts_.token(who.token_id);
    if (!t || (t->expires && now >= *t->expires)) return false;
    user_id = t->user_id;
  }
  const auto user = accounts_.user(user_id);
  return user && user->may_see_camera(camera_id) &&
         configs_.current()->find_camera(camera_id) != nullptr;
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
