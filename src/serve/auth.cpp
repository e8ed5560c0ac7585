#include "serve/auth.h"

#include "serve/crypto.h"

namespace vigil {

Authenticator::NewSession Authenticator::start_session(const User& user,
                                                       const std::string& address) {
  const WallTime now = clock_.wall_now();
  accounts_.delete_expired_sessions(now);  // housekeeping at the rare moment sessions are made
  NewSession s;
  s.id = random_secret(32);
  s.csrf_token = csrf_token_for(s.id);
  s.expires = now + std::chrono::duration_cast<WallDuration>(session_lifetime_);
  SessionRow row;
  row.id_sha256 = sha256(s.id);
  row.user_id = user.id;
  row.created = now;
  row.expires = s.expires;
  row.address = address;
  accounts_.add_session(row);
  return s;
}

std::string Authenticator::session_cookie(const std::string& id, bool secure) const {
  const auto max_age = id.empty()
                           ? std::chrono::seconds(0)
                           : std::chrono::duration_cast<std::chrono::seconds>(session_lifetime_);
  std::string c = std::string(kCookieName) + "=" + id + "; HttpOnly; SameSite=Strict; Path=/; " +
                  "Max-Age=" + std::to_string(max_age.count());
  if (secure) c += "; Secure";
  return c;
}

std::optional<Principal> Authenticator::from_request(const http::Request& req) {
  const std::string authz = req.header("authorization");
  if (!authz.empty()) {
    static constexpr std::string_view kBearer = "Bearer ";
    if (authz.size() <= kBearer.size() || authz.compare(0, kBearer.size(), kBearer) != 0) {
      return std::nullopt;
    }
    return from_token(authz.substr(kBearer.size()));
  }
  const auto cookies = http::parse_cookies(req.header("cookie"));
  auto it = cookies.find(kCookieName);
  if (it == cookies.end()) return std::nullopt;
  return from_session_id(it->second);
}

std::optional<Principal> Authenticator::from_session_id(const std::string& id) {
  // A real id is 43 base64url characters; anything else is not worth a database look-up.
  if (id.size() != 43) return std::nullopt;
  const auto hash = sha256(id);
  auto s = accounts_.session(hash);
  if (!s) return std::nullopt;
  if (clock_.wall_now() >= s->expires) {
    accounts_.delete_session(hash);
    return std::nullopt;
  }
  auto user = accounts_.user(s->user_id);
  if (!user) return std::nullopt;
  Principal p;
  p.user = std::move(*user);
  p.via = Principal::Via::kSession;
  p.session_sha256 = hash;
  p.csrf_token = csrf_token_for(id);
  return p;
}

std::optional<Principal> Authenticator::from_token(const std::string& token) {
  const std::string_view prefix(kTokenPrefix);
  if (token.size() != prefix.size() + 43 || token.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  auto t = accounts_.token_by_hash(sha256(token));
  if (!t) return std::nullopt;
  const WallTime now = clock_.wall_now();
  if (t->expires && now >= *t->expires) return std::nullopt;
  auto user = accounts_.user(t->user_id);
  if (!user) return std::nullopt;
  // last_used is for people deciding which tokens to revoke: minute precision is plenty, and it
  // spares a write per request.
  if (!t->last_used || now - *t->last_used >= std::chrono::minutes(1)) {
    accounts_.touch_token(t->id, now);
  }
  Principal p;
  p.user = std::move(*user);
  p.via = Principal::Via::kToken;
  p.token_id = t->id;
  p.token_scope = t->scope;
  p.token_tills = t->tills;
  return p;
}

void Authenticator::end_session(const Principal& p) {
  if (p.via == Principal::Via::kSession) accounts_.delete_session(p.session_sha256);
}

Authenticator::NewToken Authenticator::create_token(const User& user, const std::string& name,
                                                   TokenScope scope,
                                                   std::optional<std::chrono::days> lifetime,
                                                   const std::vector<std::string>& tills) {
  NewToken t;
  t.token = kTokenPrefix + random_secret(32);
  ApiTokenRow row;
  row.user_id = user.id;
  row.name = name;
  row.created = clock_.wall_now();
  row.scope = scope;
  row.tills = tills;
  if (lifetime) row.expires = row.created + std::chrono::duration_cast<WallDuration>(*lifetime);
  t.expires = row.expires;
  t.id = accounts_.add_token(sha256(t.token), row);
  return t;
}

}  // namespace vigil
