// Routes of the API: method + path pattern -> handler, with what each route requires of the
// caller declared next to it (Access), so that one authorization check (authorize.h) serves every
// route and no handler can forget it.
// Patterns are literal segments and typed parameters: "/api/cameras/{id:camera}". Parameter
// values are percent-decoded and validated against their type before any handler runs; a value
// that does not fit is a 400, so handlers only ever see safe ids (never a path, never "..").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/accounts.h"
#include "serve/http.h"

namespace vigil {

enum class ParamType {
  kCamera,  // [A-Za-z0-9_-]{1,64}
  kUser,    // valid_user_name()
  kInt,     // 1-18 decimal digits
};

struct Access {
  bool authenticated = true;  // false only for login, setup and the login page
  Role min_role = Role::kViewer;
  std::string camera_param;  // names the path parameter holding a camera id, if any
  // A token of scope "metrics" may call this route (GET /metrics); it may call no other.
  bool metrics_scope = false;
  // An admin who must still enrol a second factor ([http] require_2fa_for_admins) may call this
  // route (enrolment itself, /api/me, logout); they may call no other.
  bool while_enrolling = false;
  // A token of scope "till" may call this route (posting transactions); it may call no other.
  // The handler checks the till against the token's tills (Principal::token_tills).
  bool till_scope = false;
};

// Who is calling, once authenticated (auth.h).
struct Principal {
  User user;
  enum class Via { kSession, kToken } via = Via::kSession;
  std::vector<uint8_t> session_sha256;  // via session: for logout
  std::string csrf_token;               // via session: what X-CSRF-Token must say
  int64_t token_id = 0;                 // via token
  TokenScope token_scope = TokenScope::kFull;  // via token
  // An admin without a second factor while [http] require_2fa_for_admins is on: set by the Api
  // from its configuration, since the same user is fine once enrolled.
  bool must_enrol_second_factor = false;
  std::vector<std::string> token_tills;        // via a token of scope "till"
};

// What a handler gets.
struct Call {
  const http::Request& request;
  std::map<std::string, std::string> params;  // validated path parameters
  std::map<std::string, std::string> query;   // decoded query parameters
  const Principal* principal = nullptr;       // null only on unauthenticated routes
};

using Handler = std::function<http::Response(Call&)>;

struct Route {
  std::string method;
  std::string pattern;  // with types: "/api/users/{name:user}"
  Access access;
  Handler handler;
  uint64_t body_limit = 0;  // 0: the server's default
  bool slow = false;        // CPU-heavy: runs on the server's slow pool (http::RequestClass)
  // Derived from pattern.
  struct Segment {
    std::string literal;  // when not a parameter
    std::string param;    // parameter name, when one
    ParamType type = ParamType::kCamera;
  };
  std::vector<Segment> segments;

  // The pattern as OpenAPI writes it: "/api/users/{name}".
  std::string openapi_path() const;
};

struct Match {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadRequest } kind = Kind::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::string allow;   // for 405: the methods that path does accept
  std::string detail;  // for 400
};

class Router {
 public:
  // Throws Error(kInternal) for a malformed pattern or a duplicate (method, path).
  void add(Route r);
  Match match(const std::string& method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

bool valid_param(ParamType type, const std::string& value);

// Adds a route whose handler is the member function `fn` of `self` (which must outlive the
// router): how the API's parts (Api, Playback, EventsApi) register their routes.
template <class T>
void add_route(Router& router, T* self, std::string method, std::string pattern, Access access,
               http::Response (T::*fn)(Call&), bool slow = false) {
  Route r;
  r.slow = slow;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.access = std::move(access);
  r.handler = [self, fn](Call& c) { return (self->*fn)(c); };
  router.add(std::move(r));
}

}  // namespace vigil
