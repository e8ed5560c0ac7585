#include "serve/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

#include "core/error.h"
#include "core/text.h"
#include "serve/crypto.h"

namespace vigil {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

}  // namespace

std::string base32_encode(const std::vector<uint8_t>& bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 31];
  return out;
}

std::optional<std::vector<uint8_t>> base32_decode(std::string_view text) {
  std::vector<uint8_t> out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '=') continue;
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= '2' && c <= '7') v = c - '2' + 26;
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

uint32_t hotp(const std::vector<uint8_t>& key, uint64_t counter, int digits) {
  uint8_t msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<uint8_t>(counter & 0xff);
    counter >>= 8;
  }
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac,
            &mac_len) ||
      mac_len != 20) {
    throw Error(ErrorCode::kInternal, "totp: OpenSSL's HMAC-SHA1 failed");
  }
  // RFC 4226 §5.3, dynamic truncation.
  const int offset = mac[19] & 0x0f;
  const uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                       (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                       (static_cast<uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  return bin % mod;
}

int64_t totp_step(int64_t unix_seconds) {
  // Floor division: times before 1970 do not occur, but a negative clock must not round up.
  return unix_seconds >= 0 ? unix_seconds / kTotpStepSeconds
                           : -((-unix_seconds + kTotpStepSeconds - 1) / kTotpStepSeconds);
}

std::string totp_code(const std::vector<uint8_t>& key, int64_t step, int digits) {
  std::string s = std::to_string(hotp(key, static_cast<uint64_t>(step), digits));
  return std::string(static_cast<size_t>(digits) - std::min(s.size(), size_t(digits)), '0') + s;
}

std::optional<int64_t> totp_match(const std::vector<uint8_t>& key, std::string_view code,
                                  int64_t unix_seconds, std::optional<int64_t> last_used_step) {
  if (code.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const int64_t now = totp_step(unix_seconds);
  std::optional<int64_t> found;
  // Every candidate is computed and compared, so the time taken says nothing about which matched.
  for (int64_t step = now - 1; step <= now + 1; ++step) {
    if (constant_time_equal(totp_code(key, step), std::string(code)) &&
        (!last_used_step || step > *last_used_step) && !found) {
      found = step;
    }
  }
  return found;
}

std::string otpauth_uri(const std::string& issuer, const std::string& account,
                        const std::vector<uint8_t>& key) {
  return "otpauth://totp/" + percent_encode(issuer) + ":" + percent_encode(account) +
         "?secret=" + base32_encode(key) + "&issuer=" + percent_encode(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) +
         "&period=" + std::to_string(kTotpStepSeconds);
}

std::vector<std::string> new_recovery_codes(size_t count) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string letters = base32_encode(random_bytes(10));  // 80 bits: 16 base32 letters
    for (auto& c : letters) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(letters.substr(0, 4) + "-" + letters.substr(4, 4) + "-" + letters.substr(8, 4) +
                  "-" + letters.substr(12, 4));
  }
  return out;
}

std::string normalize_recovery_code(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '-' || ch == ' ') continue;
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return "";
    out += c;
    if (out.size() > 16) return "";
  }
  return out.size() == 16 ? out : "";
}

}  // namespace vigil
