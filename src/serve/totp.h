// Time-based one-time passwords, the optional second factor of a login: RFC 6238 (TOTP) over
// RFC 4226 (HOTP) with HMAC-SHA1, 30-second steps and 6 digits, which is what every
// authenticator app (Google Authenticator, Aegis, FreeOTP, 1Password...) defaults to and reads
// from an otpauth:// URI. Also the recovery codes that stand in for a lost phone. Pure functions
// (the clock and the "already used" step come in as arguments); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

constexpr int64_t kTotpStepSeconds = 30;
constexpr int kTotpDigits = 6;
constexpr size_t kTotpSecretBytes = 20;  // 160 bits: RFC 4226 §4 recommends it for HMAC-SHA1

// RFC 4648 §6 base32 without padding, upper case: how otpauth:// URIs and apps carry the key.
std::string base32_encode(const std::vector<uint8_t>& bytes);
// Accepts lower case, spaces and padding; nullopt for any other character.
std::optional<std::vector<uint8_t>> base32_decode(std::string_view text);

// RFC 4226 §5.3: the `digits`-digit code (as a number) for `counter`.
uint32_t hotp(const std::vector<uint8_t>& key, uint64_t counter, int digits = kTotpDigits);
// RFC 6238 §4.2: the step that holds `unix_seconds`.
int64_t totp_step(int64_t unix_seconds);
// The code as the user types it: zero-padded to `digits`.
std::string totp_code(const std::vector<uint8_t>& key, int64_t step, int digits = kTotpDigits);

// Which step `code` belongs to, looking at the current step and one on either side (a phone's
// clock a little off, a code typed just as it changed: RFC 6238 §5.2), and only at steps after
// `last_used_step`, so that a code, once accepted, is never accepted again (§5.2: "MUST NOT
// accept the second attempt of the same OTP"). nullopt: no match. Compared in constant time.
std::optional<int64_t> totp_match(const std::vector<uint8_t>& key, std::string_view code,
                                  int64_t unix_seconds, std::optional<int64_t> last_used_step);

// otpauth://totp/vigil:NAME?secret=...&issuer=vigil&... (the Key Uri Format of Google
// Authenticator, which the other apps follow); what the enrolment QR code holds.
std::string otpauth_uri(const std::string& issuer, const std::string& account,
                        const std::vector<uint8_t>& key);

// Recovery codes: `count` random codes "xxxx-xxxx-xxxx-xxxx" of base32 letters (80 bits each,
// so that storing only their SHA-256 is enough: there is nothing to guess offline).
std::vector<std::string> new_recovery_codes(size_t count);
// The form a recovery code is hashed in: lower case, without dashes or spaces. "" when `text`
// cannot be one (wrong length or characters).
std::string normalize_recovery_code(std::string_view text);

}  // namespace vigil
