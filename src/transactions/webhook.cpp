// Provider webhooks (webhook.h).
#include "transactions/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cmath>

#include "transactions/card_mask.h"

namespace vigil::transactions {
namespace {

using nlohmann::json;

// The value at a mapped pointer, or null when the pointer is malformed or points at nothing.
json at_pointer(const json& body, const std::string& pointer) {
  try {
    const json::json_pointer p(pointer);
    if (!body.contains(p)) return nullptr;
    return body.at(p);
  } catch (const json::exception&) {
    return nullptr;  // a pointer through an array with a non-numeric index, and such
  }
}

std::string as_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  return "";
}

}  // namespace

Parsed map_webhook(const json& body, const TillConfig& till) {
  Parsed out;
  if (!body.is_object() && !body.is_array()) {
    out.error = "body: must be a JSON object";
    return out;
  }
  Transaction t;
  t.till_id = till.id;
  t.source = Source::kWebhook;
  for (const auto& [field, pointer] : till.map) {
    const json v = at_pointer(body, pointer);
    const std::string name = "map." + field + " (" + pointer + ")";
    if (v.is_null()) {
      out.error = name + ": no value in the body";
      return out;
    }
    const std::string text = mask_card_numbers(as_text(v));
    if (field == "total") {
      if (!v.is_number_integer()) {
        out.error = name + ": must be a whole number of minor units";
        return out;
      }
      t.total_minor = v.get<int64_t>();
    } else if (field == "amount") {
      if (v.is_number_float()) {
        // 12.5 as a double is 12.4999...: rounded to the cent, not truncated.
        const double major = v.get<double>();
        if (major > -1e13 && major < 1e13) t.total_minor = std::llround(major * 100);
      } else {
        t.total_minor = parse_amount_minor(text);  // "12.50", or a whole number of major units
      }
      if (!t.total_minor) {
        out.error = name + ": must be an amount such as 12.50";
        return out;
      }
    } else if (field == "currency") {
      t.currency = text.size() == 3 ? text : "";
      for (char& c : t.currency) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (field == "reference") {
      t.reference = text.substr(0, 128);
    } else if (field == "kind") {
      const auto k = parse_kind(text);
      if (!k) {
        out.error = name + ": must be sale, refund, void, no_sale, drawer_open or drawer_close";
        return out;
      }
      t.kind = *k;
    } else if (field == "method") {
      t.method = parse_method(text).value_or(Method::kOther);
    } else if (field == "time") {
      if (v.is_number_integer()) {
        t.till_time = wall_from_ms(v.get<int64_t>());
      } else {
        t.till_time = parse_iso8601(text);
      }
      if (!t.till_time) {
        out.error = name + ": must be ISO 8601 with a zone or milliseconds since the epoch";
        return out;
      }
    } else if (field == "cashier") {
      t.cashier = text.substr(0, 128);
    } else if (field == "text") {
      t.text = text.substr(0, 4096);
    }
  }
  out.value = std::move(t);
  return out;
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool webhook_signature_valid(std::string_view secret, std::string_view body,
                             std::string_view signature) {
  if (signature.size() > 7 && (signature.substr(0, 7) == "sha256=" || signature.substr(0, 7) == "SHA256=")) {
    signature.remove_prefix(7);
  }
  std::string given(signature);
  for (char& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string want = webhook_signature(secret, body);
  if (given.size() != want.size()) return false;
  return CRYPTO_memcmp(given.data(), want.data(), want.size()) == 0;
}

}  // namespace vigil::transactions
