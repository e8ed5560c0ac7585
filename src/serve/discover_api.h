// The "Find cameras" routes (admins only, audited): POST /api/discover probes for ONVIF cameras
// (onvif/find.h: an address, a subnet, or multicast) and, with a user name and password, reads
// their profiles; POST /api/discover/device reads one device service URL. A camera that refuses
// the password is answered with "reason": "unauthorized" in its entry, not an HTTP error: the
// admin's own session is fine. One discovery runs at a time (others get 429); each takes a few
// seconds, so the routes are slow (handler pool). Thread-safe.
#pragma once

#include <mutex>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "serve/router.h"

namespace vigil {

class DiscoverApi {
 public:
  // Both must outlive the DiscoverApi.
  DiscoverApi(AccountStore& accounts, const Clock& clock);

  void add_routes(Router& router);

  http::Response discover(Call& call);
  http::Response read_device(Call& call);

 private:
  void audit(const Call& call, const std::string& detail);

  AccountStore& accounts_;
  const Clock& clock_;
  std::mutex running_;  // held for the duration of one discovery
};

}  // namespace vigil
