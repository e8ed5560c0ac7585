#include "serve/authorize.h"

#include "serve/crypto.h"

namespace vigil {

bool is_safe_method(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

Decision authorize(const Access& access, const Principal* principal, const std::string& method,
                   const std::string& csrf_header, const std::map<std::string, std::string>& params,
                   const std::function<bool(const std::string&)>& camera_exists) {
  if (!access.authenticated) return {};
  if (!principal) return {401, "log in first, or send an API token as 'Authorization: Bearer'"};
  // A cookie is sent by the browser on its own, so a request carrying one may have been forged
  // by another site; the token proves the page that sent it read /api/me. Bearer tokens are
  // never sent on their own, so they need no such proof.
  if (principal->via == Principal::Via::kSession && !is_safe_method(method) &&
      (csrf_header.empty() || !constant_time_equal(csrf_header, principal->csrf_token))) {
    return {403, "missing or wrong X-CSRF-Token header (GET /api/me gives the token)"};
  }
  // A metrics token is read-only and narrow by design: its own route whatever its user's role,
  // and nothing else (a scraper's config is not where an admin's rights belong).
  if (principal->via == Principal::Via::kToken && principal->token_scope == TokenScope::kMetrics) {
    if (access.metrics_scope) return {};
    return {403, "this API token's scope is \"metrics\": it may only read GET /metrics"};
  }
  if (principal->must_enrol_second_factor && !access.while_enrolling) {
    return {403, "enrol a second factor first (the Account page; POST /api/me/totp): this "
                 "server requires one for admins"};
  }
  // A till token posts its tills' transactions and nothing else: it must not open the footage
  // of the counter to whoever reads the till's configuration.
  if (principal->via == Principal::Via::kToken && principal->token_scope == TokenScope::kTill) {
    if (access.till_scope) return {};
    return {403, "this API token's scope is \"till\": it may only post transactions"};
  }
  if (principal->user.role < access.min_role) {
    return {403, std::string("requires the ") + role_name(access.min_role) + " role"};
  }
  if (!access.camera_param.empty()) {
    auto it = params.find(access.camera_param);
    const std::string id = it == params.end() ? std::string() : it->second;
    if (!principal->user.may_see_camera(id)) {
      return {403, "no access to camera " + id};
    }
    if (!camera_exists(id)) return {404, "no camera " + id};
  }
  return {};
}

}  // namespace vigil
