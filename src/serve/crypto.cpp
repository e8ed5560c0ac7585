#include "serve/crypto.h"

#include <sodium.h>

#include "core/error.h"

namespace vigil {
namespace {

void ensure_sodium() {
  if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "libsodium failed to initialize");
}

std::string base64url(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

}  // namespace

std::string password_problem(const std::string& password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    return "a password needs " + std::to_string(kMinPasswordLength) + " to " +
           std::to_string(kMaxPasswordLength) + " characters";
  }
  return "";
}

std::string hash_password(const std::string& password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw Error(ErrorCode::kResourceExhausted, "hash password: out of memory");
  }
  return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
  ensure_sodium();
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string random_secret(size_t bytes) {
  ensure_sodium();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return base64url(buf.data(), buf.size());
}

std::vector<uint8_t> random_bytes(size_t bytes) {
  ensure_sodium();
  std::vector<uint8_t> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return buf;
}

std::vector<uint8_t> sha256(const std::string& data) {
  ensure_sodium();
  std::vector<uint8_t> out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string csrf_token_for(const std::string& session_id) {
  ensure_sodium();
  // A fixed, public key only separates this use of BLAKE2b from any other; the secret is the
  // session id itself.
  static constexpr unsigned char kDomain[] = "vigil csrf token v1";
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(session_id.data()),
                     session_id.size(), kDomain, sizeof kDomain - 1);
  return base64url(out, sizeof out);
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace vigil
