// The system settings routes of the API (admins): notification targets ([mqtt], [[webhook]])
// with "send test", the default [retention] with the disk's state and each camera's stored
// footage, and the [events] settings; plus GET /api/system/status, which every user may read
// (the web UI's disk warning). Changes go through ConfigStore::edit_globals (whole-file
// validation, durable write, then the recorder applies them at run time) and are audited.
// Secrets (the MQTT password, webhook secrets) are never answered: GET shows kSecretMask when one
// is set, and a client that sends the mask back keeps the stored secret.
// Registered by Api next to its own routes; thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_store.h"
#include "serve/router.h"

namespace vigil {

// What GET answers for a secret that is set; sending it back means "unchanged".
inline constexpr const char* kSecretMask = "********";

// The disk of the recordings as the API reports it.
struct DiskState {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;  // 0 when unknown
  uint64_t low_below_bytes = 0;
  bool low = false;
};
// disk_low_space, or half of min_free_space: retention keeps min_free_space free, so falling to
// half of it means retention is not keeping up (held or open footage, other files filling the
// disk). See docs/config.md.
DiskState disk_state(const Config& config, const nlohmann::json& status);

class SettingsApi {
 public:
  // RecorderService::status_json() as JSON ({"cameras": [...], "disk_free_bytes": ...}).
  using StatusFn = std::function<nlohmann::json()>;
  // All must outlive the SettingsApi.
  SettingsApi(ConfigStore& configs, AccountStore& accounts, const Clock& clock, StatusFn status);

  void add_routes(Router& router);

  http::Response system_status(Call& call);
  http::Response notifications(Call& call);
  http::Response set_notifications(Call& call);
  http::Response test_notification(Call& call);
  http::Response storage(Call& call);
  http::Response set_storage(Call& call);
  http::Response events(Call& call);
  http::Response set_events(Call& call);

 private:
  nlohmann::json status() const;
  void audit(const Call& call, const std::string& action, const std::string& detail);

  ConfigStore& configs_;
  AccountStore& accounts_;
  const Clock& clock_;
  StatusFn status_;
};

}  // namespace vigil
