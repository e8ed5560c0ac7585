// The secrets of serve, all through libsodium: Argon2id password hashes, random ids for sessions
// and API tokens (stored only as their SHA-256, so a copy of vigil.db logs nobody in), and the
// per-session CSRF token. Thread-safe; sodium_init is called on first use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

// What a password must be, for the API and the command line alike.
constexpr size_t kMinPasswordLength = 8;
constexpr size_t kMaxPasswordLength = 1024;  // Argon2 takes any length; a bound keeps it cheap
// Why `password` is unacceptable, or "" when it is fine.
std::string password_problem(const std::string& password);

// Argon2id (crypto_pwhash_str, "interactive" limits: ~64 MiB and a fraction of a second per
// call, on purpose). Throws Error(kResourceExhausted) when the memory is not available.
std::string hash_password(const std::string& password);
// Constant-time verification against a hash_password() string; false for a malformed hash.
bool verify_password(const std::string& hash, const std::string& password);

// `bytes` random bytes, base64url without padding (43 characters for 32 bytes).
std::string random_secret(size_t bytes = 32);
std::vector<uint8_t> random_bytes(size_t bytes);
std::vector<uint8_t> sha256(const std::string& data);
// The CSRF token of a session: a keyed BLAKE2b of the session id, so it needs no storage, is
// unknown to anyone without the cookie, and dies with the session.
std::string csrf_token_for(const std::string& session_id);
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace vigil
