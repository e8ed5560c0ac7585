// The JSON API under /api/: the routes (each with the Access it requires), their handlers, and
// the single entry point that takes every request through route matching, authentication, the
// one authorization check (authorize.h) and error mapping, in that order. The OpenAPI document
// (openapi.json beside this file, served at /api/openapi.json) describes these routes and a unit
// test keeps the two in step.
// Thread-safe: handle() runs on the server's handler pool, many at once.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/config_store.h"
#include "core/supervision.h"
#include "serve/auth.h"
#include "serve/events_api.h"
#include "serve/discover_api.h"
#include "serve/holds_api.h"
#include "serve/ptz_api.h"
#include "serve/transactions_api.h"
#include "serve/http.h"
#include "serve/playback.h"
#include "serve/router.h"
#include "serve/settings_api.h"
#include "serve/static_files.h"
#include "serve/throttle.h"

namespace vigil {

class CameraProber;
class LiveHub;
class SnapshotCache;

// The OpenAPI 3 document (openapi.json, compiled in).
const std::string& openapi_document();

class Api {
 public:
  // Per-camera status as RecorderService::status_json() reports it ({"cameras": [...]}).
  using StatusFn = std::function<nlohmann::json()>;

  // `configs` and `accounts` must outlive the Api. Camera changes made through the API go to
  // `configs` (which rewrites the file and tells its subscribers, e.g. the recorder). With no
  // user in the catalog, a one-time setup token is made (setup_token()) for POST /api/setup.
  // The export queue and camera tests report their failures in `components` (null: only
  // logged), which must outlive the Api.
  Api(ConfigStore& configs, AccountStore& accounts, const Clock& clock, StatusFn status,
      ComponentRegistry* components = nullptr);
  ~Api();

  http::Response handle(const http::Request& req);
  // Body limit and pool of a request, from its request line (HttpServer's ClassifyFn).
  http::RequestClass classify(const std::string& method, std::string_view path) const;
  const Router& router() const { return router_; }
  // The transactions routes, for app to connect the exception rules and the printer tap.
  TransactionsApi& transactions() { return transactions_api_; }
  // The setup token while no user exists; nullopt once setup is done.
  std::optional<std::string> setup_token();
  // Called once the setup token is spent (the first admin made, or one found already there),
  // e.g. to remove the setup link vigil wrote for `vigil setup-url`. Call before the server
  // starts.
  void set_on_setup_done(std::function<void()> fn) { on_setup_done_ = std::move(fn); }
  // Frees room on a full disk (retention's space reserve); true when it freed something. A
  // request whose catalog write found the disk full then runs once more. Call before the
  // server starts.
  void set_disk_relief(std::function<bool()> fn) { disk_relief_ = std::move(fn); }

  // Live view, snapshots and metrics (api_live.cpp): `hub` gives a camera's live hub, or null
  // when it has none (a camera removed meanwhile). Call before the server starts; without it
  // those routes answer 503.
  using LiveHubFn = std::function<std::shared_ptr<LiveHub>(const std::string& camera_id)>;
  void set_live(LiveHubFn hub);
  // The recorders' files being written, so that playback reaches up to their last synced
  // fragment (playback.h). Call before the server starts; must outlive the Api.
  void set_open_segments(const OpenSegments& open) { playback_.set_open_segments(open); }
  // Ends running connection tests (camera_probe.h). Call after the HTTP server stopped, before
  // it is destroyed.
  void stop_probes();

 private:
  void add_routes();
  void audit(const Call& call, const std::string& action, const std::string& detail,
             const std::optional<std::string>& user_name = std::nullopt,
             const std::optional<std::string>& camera = std::nullopt);
  // How long a password attempt for `name` from `address` must wait: the address's own count,
  // the (account, address) pair's, and the account's — the last only for an address that has
  // failed for that account, so that it can never lock the real user out from elsewhere.
  std::optional<std::chrono::seconds> login_wait(const std::string& address,
                                                 const std::string& name);
  void record_login_failure(const std::string& address, const std::string& name);
  http::Response start_session_response(const Call& call, const User& user, int status);

  http::Response index_page(Call& call);
  http::Response setup(Call& call);
  http::Response login(Call& call);
  http::Response logout(Call& call);
  http::Response me(Call& call);
  http::Response change_own_password(Call& call);
  http::Response begin_totp(Call& call);
  http::Response confirm_totp(Call& call);
  http::Response disable_totp(Call& call);
  http::Response list_users(Call& call);
  http::Response add_user(Call& call);
  http::Response change_user(Call& call);
  http::Response delete_user(Call& call);
  http::Response list_tokens(Call& call);
  http::Response create_token(Call& call);
  http::Response revoke_token(Call& call);
  http::Response list_cameras(Call& call);
  http::Response camera(Call& call);
  http::Response add_camera(Call& call);
  http::Response change_camera(Call& call);
  http::Response remove_camera(Call& call);
  http::Response change_till(Call& call);
  http::Response probe_camera(Call& call);
  http::Response read_audit(Call& call);
  http::Response openapi(Call& call);
  http::Response live(Call& call);
  http::Response snapshot(Call& call);
  http::Response metrics(Call& call);
  // handle() without the headers every answer gets.
  http::Response answer(const http::Request& req);
  // Matches the route, authenticates, authorizes and runs the handler; throws what they throw.
  http::Response route(const http::Request& req);
  // Throws 403 (wrong password, counted by the login throttle) or 429 (throttled).
  void verify_own_password(const Call& call, const std::string& password);
  // Whether `code` is the user's current TOTP code (not used before) or one of their unused
  // recovery codes, which it then uses up (audited: recovery_code_used).
  bool check_second_factor(const Call& call, const User& user, const std::string& code);
  std::shared_ptr<LiveHub> live_hub_for(const std::string& camera_id);
  // Whether the session or token `who` came with is still valid and its user may still see
  // the camera (live streams ask this while they flow).
  bool still_may_watch(const Principal& who, const std::string& camera_id);

  ConfigStore& configs_;
  AccountStore& accounts_;
  const Clock& clock_;
  StatusFn status_;
  Authenticator auth_;
  FailureThrottle address_throttle_;
  FailureThrottle account_throttle_;
  FailureThrottle account_address_throttle_;  // key: account|address
  // Verified against when a login names no existing user, so that such a login costs the same
  // time as a wrong password and does not reveal which names exist.
  const std::string dummy_hash_;
  Playback playback_;  // timeline, playback, export (playback.h)
  EventsApi events_api_;  // events, their snapshots and clips (events_api.h)
  SettingsApi settings_api_;  // notifications, storage, events settings (settings_api.h)
  HoldsApi holds_api_;  // evidence holds (holds_api.h)
  DiscoverApi discover_api_;  // "Find cameras" (discover_api.h)
  PtzApi ptz_api_;            // pan, tilt, zoom (ptz_api.h)
  TransactionsApi transactions_api_;  // till transactions (transactions_api.h)
  Router router_;
  std::mutex setup_mu_;
  std::optional<std::string> setup_token_;
  std::function<void()> on_setup_done_;
  std::function<bool()> disk_relief_;
  LiveHubFn live_hub_;
  std::shared_ptr<SnapshotCache> snapshots_;
  StaticFiles web_;  // the web UI ([http] web_root)
  // Host names a request may name ([http] allowed_hosts and the defaults), lower case; empty
  // when any is accepted ("*").
  std::set<std::string> allowed_hosts_;
  std::unique_ptr<CameraProber> prober_;  // "test connection" (camera_probe.h)
};

}  // namespace vigil
