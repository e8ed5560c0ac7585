// The types the transactions stage passes between its parts: what a till did (kind), how it was
// paid (method), and a receipt as the printer tap read it from a till's ESC/POS byte stream.
// They live in a header of their own so that the printer tap (printer_tap.*, receipt_parser.*)
// and the transaction store and API can be written apart and meet only here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace vigil::transactions {

// What happened at the till. Names are the API's (docs/transactions.md): "sale", "refund",
// "void", "no_sale", "drawer_open", "drawer_close".
enum class Kind { kSale, kRefund, kVoid, kNoSale, kDrawerOpen, kDrawerClose };
// How it was paid: "qr", "card", "cash", "other".
enum class Method { kQr, kCard, kCash, kOther };
// How many of each there are (summaries index arrays by them).
constexpr size_t kKindCount = 6;
constexpr size_t kMethodCount = 4;

const char* kind_name(Kind k);
std::optional<Kind> parse_kind(std::string_view name);
const char* method_name(Method m);
std::optional<Method> parse_method(std::string_view name);

// One printed line and when its bytes arrived (the receipt is shown beside the video line by
// line as playback reaches each line's time).
struct ReceiptLine {
  WallTime at;
  std::string text;  // UTF-8, cleaned (core/text.h), card numbers already masked
};

// A receipt as the printer tap read it: the text lines between two paper cuts (or up to the
// connection's end), with what the till's patterns recognised in them. The tap fills in what it
// can; the store turns it into a transaction of `kind` at `started` (arrival of the first byte).
struct PrintedReceipt {
  std::string till_id;
  WallTime started;
  WallTime ended;
  std::vector<ReceiptLine> lines;
  bool cut = false;          // ended by a paper cut (false: connection closed or idle timeout)
  bool drawer_kick = false;  // the stream held a drawer-kick command (ESC p / DLE DC4)
  Kind kind = Kind::kSale;   // refund/void by pattern; a drawer kick with no text is kDrawerOpen
  std::optional<Method> method;
  std::optional<int64_t> total_minor;  // total in minor units (cents), from total_pattern
};

}  // namespace vigil::transactions
