// One normalised transaction, whichever way it came in (HTTP post, provider webhook, printer
// tap): what the store keeps, the search finds and the rules judge. Every text in it has had its
// card numbers masked (mask.h) before it reaches the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "transactions/receipt.h"

namespace vigil::transactions {

// Where a transaction came from.
enum class Source { kApi, kWebhook, kPrinter };
const char* source_name(Source s);

struct LineItem {
  std::string text;
  double quantity = 1;
  std::optional<int64_t> unit_minor;  // unit price in minor units (cents)
  bool operator==(const LineItem&) const = default;
};

struct Transaction {
  int64_t id = 0;  // assigned by the store
  std::string till_id;
  // The till's own clock, as it sent it (none for printer taps: they have no clock).
  std::optional<WallTime> till_time;
  // On vigil's clock: till_time + the till's clock_offset, or the receipt's arrival.
  WallTime moment;
  Kind kind = Kind::kSale;
  std::optional<Method> method;
  std::optional<int64_t> total_minor;  // minor units (cents); refunds are positive amounts too
  std::string currency;                // ISO 4217 code ("EUR"), "" when unknown
  std::vector<LineItem> items;
  // The till's own id for the transaction: (till, reference) is stored once. "" for receipts
  // from a printer tap, which carry none (each is a new transaction).
  std::string reference;
  std::string cashier;  // as the till names them
  std::string text;     // free text
  std::vector<ReceiptLine> receipt;  // printer taps: each line with its arrival time
  Source source = Source::kApi;
  WallTime created;  // when the store got it
};

}  // namespace vigil::transactions
