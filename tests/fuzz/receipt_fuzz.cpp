// libFuzzer target: a till's print stream as the printer tap reads it (ReceiptParser with the
// default patterns and small limits, so the limits are reached), in the language the first
// byte's high bit picks (set: StarPRNT, else ESC/POS), fed in chunks whose size its other bits
// pick (1-128), then finished; and the same bytes through mask_card_numbers and
// parse_amount_minor. Checks what the transaction store relies on: every line non-empty, within
// the limits, with no card number left in it (masking a line again changes nothing); a receipt
// has lines or a drawer kick.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "transactions/card_mask.h"
#include "transactions/receipt_parser.h"

using namespace vigil::transactions;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ReceiptPatterns patterns = *compile_receipt_patterns({}).patterns;
  if (size == 0) return 0;
  const size_t chunk = size_t{data[0] & 0x7Fu} + 1;
  const PrinterLanguage language =
      data[0] & 0x80 ? PrinterLanguage::kStarPrnt : PrinterLanguage::kEscPos;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  ReceiptParserLimits limits;
  limits.max_line_bytes = 64;
  limits.max_lines = 20;
  limits.max_command_payload = 2048;
  ReceiptParser parser("fuzz", patterns, limits, language);
  std::vector<PrintedReceipt> out;
  const vigil::WallTime now = vigil::wall_from_ms(0);
  for (size_t at = 0; at < stream.size(); at += chunk) {
    const bool ok = parser.feed(stream.substr(at, chunk), now, out);
    if (ok == parser.error().has_value()) __builtin_trap();
  }
  parser.finish(now, out);
  for (const PrintedReceipt& r : out) {
    if (r.lines.empty() && !r.drawer_kick) __builtin_trap();
    if (r.lines.size() > limits.max_lines) __builtin_trap();
    for (const ReceiptLine& l : r.lines) {
      // 64 bytes of a code page are at most 3 bytes of UTF-8 each.
      if (l.text.empty() || l.text.size() > 3 * limits.max_line_bytes) __builtin_trap();
      if (mask_card_numbers(l.text) != l.text) __builtin_trap();
    }
  }
  const std::string masked = mask_card_numbers(stream);
  if (masked.size() != stream.size() || mask_card_numbers(masked) != masked) __builtin_trap();
  (void)parse_amount_minor(stream.substr(0, 32));
  return 0;
}
