#include "serve/settings_api.h"

#include <algorithm>

#include "core/error.h"
#include "core/redact.h"
#include "core/text.h"
#include "events/notification_test.h"
#include "serve/api_request.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

constexpr std::chrono::milliseconds kMqttTestTimeout{5'000};
// A webhook test waits at most this long even if the target allows more (timeout_ms goes up to
// 120 s): the test holds a thread of the slow pool, which logins share.
constexpr std::chrono::milliseconds kWebhookTestTimeoutMax{10'000};

json opt_path(const std::filesystem::path& p) { return p.empty() ? json(nullptr) : json(p.string()); }
json mask(const std::string& secret) { return secret.empty() ? json("") : json(kSecretMask); }

json mqtt_json(const MqttSettings& m) {
  if (m.host.empty()) return nullptr;
  return {{"host", m.host},
          {"port", m.port},
          {"tls", m.tls},
          {"ca_file", opt_path(m.ca_file)},
          {"prefix", m.prefix},
          {"client_id", m.client_id},
          {"username", m.username},
          {"password", mask(m.password)},
          {"discovery", m.discovery},
          {"discovery_prefix", m.discovery_prefix},
          {"keepalive_s", m.keepalive.count()},
          {"queue_limit", m.queue_limit},
          {"retry_for_ms", m.retry_for.count()}};
}

json webhook_json(const WebhookTarget& w) {
  return {{"url", redact_url(w.url)},
          {"secret", mask(w.secret)},
          {"ca_file", opt_path(w.ca_file)},
          {"types", w.types},
          {"timeout_ms", w.timeout.count()},
          {"max_attempts", w.max_attempts},
          {"retry_initial_ms", w.retry_initial.count()},
          {"queue_limit", w.queue_limit}};
}

json notifications_json(const Config& c) {
  json hooks = json::array();
  for (const auto& w : c.webhooks) hooks.push_back(webhook_json(w));
  return {{"mqtt", mqtt_json(c.mqtt)}, {"webhooks", hooks}};
}

json retention_json(const RetentionLimits& r) {
  return {{"max_days", r.max_days ? json(*r.max_days) : json(nullptr)},
          {"max_bytes", r.max_bytes ? json(*r.max_bytes) : json(nullptr)}};
}

json events_json(const EventSettings& e) {
  return {{"min_duration_ms", e.min_duration.count()},
          {"merge_gap_ms", e.merge_gap.count()},
          {"pre_roll_ms", e.pre_roll.count()},
          {"post_roll_ms", e.post_roll.count()},
          {"time_zone", e.time_zone},
          // Read at start only: the engine's queue is sized then.
          {"queue_limit", e.queue_limit},
          {"restart_needed_for", json::array({"queue_limit"})}};
}

json disk_json(const DiskState& d) {
  return {{"free_bytes", d.free_bytes},
          {"total_bytes", d.total_bytes},
          {"low", d.low},
          {"low_below_bytes", d.low_below_bytes}};
}

// The [mqtt] table a client sent, with a masked password replaced by the stored one — only for
// the stored broker (same host, port and TLS): a masked password for another broker would let an
// admin session send the stored password to a server of its choosing.
json resolve_mqtt(json m, const MqttSettings& stored, const ConfigStore& configs) {
  if (m.is_null()) return m;
  if (!m.is_object()) throw Error(ErrorCode::kInvalidArgument, "mqtt must be an object or null");
  if (m.contains("password") && m["password"] == kSecretMask) {
    m.erase("password");
    if (stored.password.empty()) return m;
    // The broker as the configuration will read it (defaults included), without the password.
    const MqttSettings target = configs.preview_globals({{"mqtt", m}}, nullptr).mqtt;
    if (target.host != stored.host || target.port != stored.port || target.tls != stored.tls) {
      throw Error(ErrorCode::kInvalidArgument,
                  "mqtt: the password is masked but the broker (host, port or TLS) differs from "
                  "the saved one; type the password");
    }
    m["password"] = stored.password;
  }
  return m;
}

// A [[webhook]] table a client sent: a URL as GET shows it (password masked) and a masked secret
// mean the stored ones of the target with that URL.
json resolve_webhook(json w, const std::vector<WebhookTarget>& stored) {
  if (!w.is_object()) throw Error(ErrorCode::kInvalidArgument, "a webhook must be an object");
  const WebhookTarget* match = nullptr;
  if (w.contains("url") && w["url"].is_string()) {
    const std::string url = w["url"].get<std::string>();
    for (const auto& s : stored) {
      if (s.url == url || redact_url(s.url) == url) {
        match = &s;
        w["url"] = s.url;
        break;
      }
    }
  }
  if (w.contains("secret") && w["secret"] == kSecretMask) {
    if (!match) {
      throw Error(ErrorCode::kInvalidArgument,
                  "webhook " + w.value("url", std::string("?")) +
                      ": its secret is masked but no saved webhook has that URL; type the secret");
    }
    if (match->secret.empty()) {
      w.erase("secret");
    } else {
      w["secret"] = match->secret;
    }
  }
  return w;
}

json resolve_webhooks(const json& list, const std::vector<WebhookTarget>& stored) {
  if (!list.is_array()) throw Error(ErrorCode::kInvalidArgument, "webhooks must be a list");
  json out = json::array();
  for (const auto& w : list) out.push_back(resolve_webhook(w, stored));
  return out;
}

std::string field_names(const json& body) {
  std::string s;
  if (body.is_object()) {
    for (const auto& [k, v] : body.items()) s += (s.empty() ? "" : ", ") + k;
  }
  return s.empty() ? "nothing" : s;
}

}  // namespace

DiskState disk_state(const Config& config, const json& status) {
  DiskState d;
  d.free_bytes = status.value("disk_free_bytes", uint64_t{0});
  d.total_bytes = status.value("disk_total_bytes", uint64_t{0});
  d.low_below_bytes = config.disk_low_bytes.value_or(config.min_free_bytes / 2);
  d.low = status.contains("disk_free_bytes") && d.free_bytes < d.low_below_bytes;
  return d;
}

SettingsApi::SettingsApi(ConfigStore& configs, AccountStore& accounts, const Clock& clock,
                         StatusFn status)
    : configs_(configs), accounts_(accounts), clock_(clock), status_(std::move(status)) {}

void SettingsApi::add_routes(Router& router) {
  const Access viewer{true, Role::kViewer, ""};
  const Access admin{true, Role::kAdmin, ""};
  add_route(router, this, "GET", "/api/system/status", viewer, &SettingsApi::system_status);
  add_route(router, this, "GET", "/api/settings/notifications", admin,
            &SettingsApi::notifications);
  add_route(router, this, "PUT", "/api/settings/notifications", admin,
            &SettingsApi::set_notifications);
  // Waits on the network for up to the target's timeout: on the slow pool, so the rest of the
  // API keeps its handler threads.
  add_route(router, this, "POST", "/api/settings/notifications/test", admin,
            &SettingsApi::test_notification, true);
  add_route(router, this, "GET", "/api/settings/storage", admin, &SettingsApi::storage);
  add_route(router, this, "PATCH", "/api/settings/storage", admin, &SettingsApi::set_storage);
  add_route(router, this, "GET", "/api/settings/events", admin, &SettingsApi::events);
  add_route(router, this, "PATCH", "/api/settings/events", admin, &SettingsApi::set_events);
}

json SettingsApi::status() const { return status_ ? status_() : json::object(); }

void SettingsApi::audit(const Call& call, const std::string& action, const std::string& detail) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = action;
  e.detail = detail;
  accounts_.append_audit(e);
}

Response SettingsApi::system_status(Call& call) {
  const auto config = configs_.current();
  const json st = status();
  json full = json::array();
  for (const auto& c : st.value("cameras", json::array())) {
    const std::string id = c.value("id", "");
    if (c.value("disk_full", false) && call.principal->user.may_see_camera(id)) full.push_back(id);
  }
  // The fingerprint of the key that signs the recordings' checkpoints: what a verifier of an
  // evidence bundle compares against (docs/design/integrity.md).
  return Response::json(200, {{"disk", disk_json(disk_state(*config, st))},
                              {"disk_full_cameras", full},
                              {"key_fingerprint", st.value("key_fingerprint", "")}});
}

Response SettingsApi::notifications(Call&) {
  return Response::json(200, notifications_json(*configs_.current()));
}

Response SettingsApi::set_notifications(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"mqtt", "webhooks"});
  const auto before = configs_.current();
  json replace = json::object();
  if (body.contains("mqtt")) replace["mqtt"] = resolve_mqtt(body["mqtt"], before->mqtt, configs_);
  if (body.contains("webhooks")) {
    replace["webhook"] = resolve_webhooks(body["webhooks"], before->webhooks);
  }
  const auto config = configs_.edit_globals(replace, nullptr, "notification targets were changed");
  std::string detail = config->mqtt.host.empty()
                           ? std::string("mqtt off")
                           : "mqtt " + config->mqtt.host + ":" + std::to_string(config->mqtt.port);
  detail += "; " + std::to_string(config->webhooks.size()) + " webhook(s)";
  audit(call, "settings_notifications", detail);
  return Response::json(200, notifications_json(*config));
}

Response SettingsApi::test_notification(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"mqtt", "webhook"});
  if (body.size() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "send either {\"mqtt\": {...}} or {\"webhook\": {...}}");
  }
  const auto before = configs_.current();
  NotificationTestResult r;
  std::string target;
  if (body.contains("mqtt")) {
    const json m = resolve_mqtt(body["mqtt"], before->mqtt, configs_);
    if (!m.is_object()) throw Error(ErrorCode::kInvalidArgument, "mqtt: give the broker's settings");
    const Config c = configs_.preview_globals({{"mqtt", m}}, nullptr);
    target = "mqtt " + c.mqtt.host + ":" + std::to_string(c.mqtt.port);
    r = send_mqtt_test(c.mqtt, clock_.wall_now(), kMqttTestTimeout);
  } else {
    const json w = resolve_webhook(body["webhook"], before->webhooks);
    const Config c = configs_.preview_globals({{"webhook", json::array({w})}}, nullptr);
    WebhookTarget t = c.webhooks.at(0);
    t.timeout = std::min(t.timeout, kWebhookTestTimeoutMax);
    target = "webhook " + redact_url(t.url);
    r = send_webhook_test(t, clock_.wall_now());
  }
  audit(call, "notification_test", target + ": " + (r.ok ? "ok" : "failed: " + r.detail));
  return Response::json(200, {{"ok", r.ok}, {"detail", r.detail}});
}

Response SettingsApi::storage(Call&) {
  const auto config = configs_.current();
  const json st = status();
  json cams = json::array();
  for (const auto& c : st.value("cameras", json::array())) {
    const CameraConfig* cfg = config->find_camera(c.value("id", ""));
    cams.push_back({{"id", c.value("id", "")},
                    {"name", c.value("name", "")},
                    {"stored_bytes", c.value("stored_bytes", uint64_t{0})},
                    {"stored_segments", c.value("stored_segments", int64_t{0})},
                    {"held_bytes", c.value("held_bytes", uint64_t{0})},
                    {"stopped_by_holds", c.value("stopped_by_holds", false)},
                    {"oldest_footage", c.value("oldest_footage", "")},
                    {"bitrate_bps", c.value("bitrate_bps", 0.0)},
                    {"disk_full", c.value("disk_full", false)},
                    {"retention", cfg ? retention_json(cfg->retention) : json(nullptr)}});
  }
  return Response::json(200, {{"retention", retention_json(config->default_retention)},
                              {"min_free_space_bytes", config->min_free_bytes},
                              {"disk", disk_json(disk_state(*config, st))},
                              {"cameras", cams}});
}

Response SettingsApi::set_storage(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"retention"});
  if (!body.contains("retention") || !body["retention"].is_object()) {
    throw Error(ErrorCode::kInvalidArgument, "give {\"retention\": {\"max_days\": ..., \"max_bytes\": ...}}");
  }
  only_fields(body["retention"], {"max_days", "max_bytes"});
  configs_.edit_globals(nullptr, {{"retention", body["retention"]}},
                        "the default retention was changed");
  audit(call, "settings_retention", to_json_text(body["retention"]));
  return storage(call);
}

Response SettingsApi::events(Call&) {
  return Response::json(200, events_json(configs_.current()->events));
}

Response SettingsApi::set_events(Call& call) {
  json body = parse_body(call);
  only_fields(body, {"min_duration_ms", "merge_gap_ms", "pre_roll_ms", "post_roll_ms", "time_zone"});
  // "" is the host's zone, which is the key left out.
  if (body.contains("time_zone") && body["time_zone"] == "") body["time_zone"] = nullptr;
  const auto config =
      configs_.edit_globals(nullptr, {{"events", body}}, "the event settings were changed");
  audit(call, "settings_events", field_names(body));
  return Response::json(200, events_json(config->events));
}

}  // namespace vigil
