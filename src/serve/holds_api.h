// The evidence holds routes of the API (catalog/holds.h): operators put a hold on some of their
// cameras and a time range, with a name and a reason; everyone lists the holds of the cameras
// they may see; only an admin releases one. Putting and releasing are audited. Retention keeps
// what a hold covers (retention/held_footage.h). Registered by Api next to the other routes;
// thread-safe; the catalog connection is opened on first use.
#pragma once

#include <memory>
#include <mutex>

#include "catalog/accounts.h"
#include "catalog/holds.h"
#include "core/clock.h"
#include "core/config_store.h"
#include "serve/router.h"

namespace vigil {

class HoldsApi {
 public:
  // All must outlive the HoldsApi.
  HoldsApi(const ConfigStore& configs, AccountStore& accounts, const Clock& clock);
  ~HoldsApi();

  void add_routes(Router& router);

  http::Response list(Call& call);
  http::Response add(Call& call);
  http::Response release(Call& call);

 private:
  HoldStore& store();

  const ConfigStore& configs_;
  AccountStore& accounts_;
  const Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<HoldStore> store_;
};

}  // namespace vigil
