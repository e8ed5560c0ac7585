// Payment notifications from a QR provider or card terminal: the provider's own JSON turned into
// a transaction of a till through the till's [till.map] (vigil field -> JSON pointer, RFC 6901),
// so no code is written per provider; its HMAC-SHA256 signature checked when the till has a
// webhook_secret. Only mapped fields are read: the payer's account, phone and name in the body
// are never stored, logged or echoed (docs/transactions.md, "Privacy").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/config.h"
#include "transactions/transaction_json.h"

namespace vigil::transactions {

// The transaction `body` describes under `till`'s mapping. Mapped fields: total (minor units,
// a whole number), amount (major units: 12.5 or "12.50"), currency, reference, kind, method,
// time (ISO 8601 or milliseconds), cashier, text. An unmapped kind is "sale"; a method that is
// not one of vigil's names is "other". A missing mapped value is an error naming the field and
// its pointer. The moment is left to the caller.
Parsed map_webhook(const nlohmann::json& body, const TillConfig& till);

// Whether `signature` (hex, optionally prefixed "sha256=", any case) is the HMAC-SHA256 of
// `body` under `secret`, compared in constant time.
bool webhook_signature_valid(std::string_view secret, std::string_view body,
                             std::string_view signature);
// The hex HMAC-SHA256 of `body` under `secret` (what a provider sends; tests sign with it).
std::string webhook_signature(std::string_view secret, std::string_view body);

}  // namespace vigil::transactions
