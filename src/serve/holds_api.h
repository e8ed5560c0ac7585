// The evidence holds routes of the API (catalog/holds.h): operators put a hold on some of their
// cameras and a time range, with a name and a reason; everyone lists the holds of the cameras
// they may see; only an admin releases one. Putting and releasing are audited. Retention keeps
// what a hold covers (retention/held_footage.h). A hold is exported as one evidence bundle per
// camera through Playback's export queue. Registered by Api next to the other routes;
// thread-safe; the catalog connection is opened on first use.
#pragma once

#include <memory>
#include <mutex>

#include "catalog/accounts.h"
#include "catalog/holds.h"
#include "core/clock.h"
#include "core/config_store.h"
#include "serve/playback.h"
#include "serve/router.h"

namespace vigil {

class HoldsApi {
 public:
  // All must outlive the HoldsApi.
  HoldsApi(const ConfigStore& configs, AccountStore& accounts, const Clock& clock,
           Playback& playback);
  ~HoldsApi();

  void add_routes(Router& router);

  http::Response list(Call& call);
  http::Response add(Call& call);
  http::Response release(Call& call);
  http::Response export_hold(Call& call);

 private:
  HoldStore& store();

  const ConfigStore& configs_;
  AccountStore& accounts_;
  const Clock& clock_;
  Playback& playback_;
  std::mutex mu_;
  std::unique_ptr<HoldStore> store_;
};

}  // namespace vigil
