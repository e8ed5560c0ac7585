// Authentication: login sessions (cookie) and API tokens (Authorization: Bearer), both random
// 32-byte secrets that the catalog stores only as SHA-256. A session lasts a fixed lifetime from
// login; a token until it expires (if made with a lifetime) or is revoked. Thread-safe
// (AccountStore is).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "serve/http.h"
#include "serve/router.h"

namespace vigil {

class Authenticator {
 public:
  static constexpr const char* kCookieName = "vigil_session";
  static constexpr const char* kTokenPrefix = "vgt_";  // tells a token apart in a config or log

  Authenticator(AccountStore& accounts, const Clock& clock, std::chrono::hours session_lifetime)
      : accounts_(accounts), clock_(clock), session_lifetime_(session_lifetime) {}

  struct NewSession {
    std::string id;  // the cookie value: shown to the client once, stored only hashed
    std::string csrf_token;
    WallTime expires;
  };
  NewSession start_session(const User& user, const std::string& address);
  // The Set-Cookie value for a session (or, with an empty id, the one that clears it).
  std::string session_cookie(const std::string& id, bool secure) const;

  // Who sent the request: a Bearer token if there is an Authorization header (and then only it),
  // else the session cookie. nullopt when neither is valid.
  std::optional<Principal> from_request(const http::Request& req);
  std::optional<Principal> from_session_id(const std::string& id);
  std::optional<Principal> from_token(const std::string& token);
  void end_session(const Principal& p);

  struct NewToken {
    int64_t id = 0;
    std::string token;  // shown once
    std::optional<WallTime> expires;
  };
  // `lifetime`: none for a token that lasts until revoked.
  // `tills`: for scope kTill, the till ids the token may post transactions for.
  NewToken create_token(const User& user, const std::string& name, TokenScope scope,
                        std::optional<std::chrono::days> lifetime,
                        const std::vector<std::string>& tills = {});

 private:
  AccountStore& accounts_;
  const Clock& clock_;
  const std::chrono::hours session_lifetime_;
};

}  // namespace vigil
