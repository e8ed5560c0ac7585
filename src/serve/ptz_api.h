// Pan, tilt and zoom of cameras that have an ONVIF PTZ service (the camera's `onvif_url`):
// GET /api/cameras/{id}/ptz lists its presets, POST /api/cameras/{id}/ptz moves it
// ({"action": "move", "pan", "tilt", "zoom"}), stops it ({"action": "stop"}) or sends it to a
// preset ({"action": "preset", "preset": token}). Operators and admins with the camera, every
// command audited. Each command is a few SOAP calls to the camera (its clock, its PTZ service,
// the command; onvif/client.h), so the routes run on the slow pool. A camera that refuses the
// configured user name or password is a 409 that says "unauthorized", never a 401: the user's
// own session is fine; a fault the camera answers (no such preset) is a 502 with its reason.
// Thread-safe (no state besides the references).
#pragma once

#include "catalog/accounts.h"
#include "core/clock.h"
#include "core/config_store.h"
#include "serve/router.h"

namespace vigil {

class PtzApi {
 public:
  // All three must outlive the PtzApi.
  PtzApi(const ConfigStore& configs, AccountStore& accounts, const Clock& clock);

  void add_routes(Router& router);

  http::Response presets(Call& call);
  http::Response command(Call& call);

 private:
  void audit(const Call& call, const std::string& camera, const std::string& detail);

  const ConfigStore& configs_;
  AccountStore& accounts_;
  const Clock& clock_;
};

}  // namespace vigil
