// The one authorization check every request goes through (Api::handle calls it before any
// handler): authenticated at all, CSRF token for state-changing requests that ride on a session
// cookie, role at least the route's, and the camera in the path among the caller's cameras.
// A pure function of its inputs, so the whole matrix is unit-tested.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "serve/router.h"

namespace vigil {

struct Decision {
  int status = 0;  // 0: allowed; else the HTTP status to answer (401, 403, 404)
  std::string detail;
  bool allowed() const { return status == 0; }
};

// `csrf_header` is the request's X-CSRF-Token. `camera_exists` says whether a camera id is
// configured; it is asked only after the caller's right to that id is established, so a
// restricted user cannot probe which cameras exist.
Decision authorize(const Access& access, const Principal* principal, const std::string& method,
                   const std::string& csrf_header, const std::map<std::string, std::string>& params,
                   const std::function<bool(const std::string&)>& camera_exists);

// Methods that change nothing (RFC 9110 §9.2.1) and so need no CSRF token.
bool is_safe_method(const std::string& method);

}  // namespace vigil
