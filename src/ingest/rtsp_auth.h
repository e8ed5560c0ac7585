// RTSP authentication (RFC 2617 as cameras use it): Basic and Digest with MD5, answering the
// server's WWW-Authenticate challenge. Digest is preferred when a camera offers both, so the
// password does not cross the network in clear.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vigil {

struct AuthChallenge {
  enum class Scheme { kBasic, kDigest } scheme = Scheme::kBasic;
  std::string realm;
  std::string nonce;
  std::string opaque;
  bool qop_auth = false;  // server offered qop="auth"
};

// Picks the challenge to answer from all WWW-Authenticate headers of a 401; nullopt if none is
// usable (e.g. only an unknown scheme or Digest with an algorithm other than MD5).
std::optional<AuthChallenge> choose_challenge(const std::vector<std::string>& www_authenticate);

// The Authorization header value for one request. `nonce_count` counts requests answered with
// the same nonce (qop=auth only); `cnonce` is the client nonce to use.
std::string authorization_header(const AuthChallenge& c, const std::string& user,
                                 const std::string& password, const std::string& method,
                                 const std::string& uri, unsigned nonce_count,
                                 const std::string& cnonce);

}  // namespace vigil
