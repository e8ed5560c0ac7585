// Transactions as JSON, in vigil's documented schema (docs/transactions.md): the body of
// POST /api/transactions (read) and of every transactions API answer (written). Reading checks
// every field and answers the first wrong one by name, never throwing on the input; every text
// is masked (mask.h) as it is read, so nothing unmasked travels further, not even into a log.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/time.h"
#include "transactions/store.h"
#include "transactions/transaction.h"

namespace vigil::transactions {

// A transaction read from JSON, or why not: `error` names the field ("transactions[3].kind:
// must be one of ...").
struct Parsed {
  std::optional<Transaction> value;
  std::string error;
};

// Reads one transaction object. `where` prefixes field names in errors ("" or
// "transactions[3]."). The till's time is `time` (ISO 8601 with Z or an offset) or `time_ms`
// (milliseconds since the epoch); the moment is left to the caller (it knows the till's offset).
Parsed parse_transaction(const nlohmann::json& j, const std::string& where);

// "2026-12-06T12:00:00Z", "2026-12-06T13:00:00.250+01:00" -> time; nullopt when malformed.
std::optional<WallTime> parse_iso8601(const std::string& text);

// "12.50", "12,50", "1,234.50", "1.234,50", "12" -> minor units (2 decimals); nullopt when it is
// no amount. The last '.' or ',' followed by one or two digits is the decimal point.
std::optional<int64_t> parse_amount_minor(const std::string& text);

// A stored transaction as the API answers it; the receipt lines only when `with_receipt`.
nlohmann::json to_json(const Transaction& t, bool with_receipt);

// One till's day in the daily summary (GET /api/transactions/summary, docs/transactions.md).
struct SummaryRow {
  std::string till_id;
  std::string till_name;
  std::string day;  // the local day, "2026-12-01"
  WallTime from;    // its local midnight
  WallTime to;      // the next local midnight
  Summary summary;
};
nlohmann::json to_json(const SummaryRow& r);
// The CSV download: the header line, then one line per row (RFC 4180, CRLF line ends), with the
// same figures as the JSON flattened into columns.
std::string summary_csv_header();
std::string to_csv(const SummaryRow& r);

}  // namespace vigil::transactions
