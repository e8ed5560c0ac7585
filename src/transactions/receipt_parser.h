// The printer tap's reader of a till's print stream (issue 19): ESC/POS or StarPRNT bytes, as
// they arrive on the till's TCP connection in chunks of any size, turned into receipts of text
// lines (PrintedReceipt, receipt.h).
//
// ESC/POS: every ESC, GS, FS and DLE command is consumed with its parameters (Epson "ESC/POS
// Command Reference", TM printers), including the length-prefixed payloads of raster and column
// images (GS v 0, ESC *), barcodes (GS k) and 2D codes (GS ( k), so that image bytes never read
// as text. Printable bytes are decoded from the code page that ESC t selects (CP437, CP850,
// CP852, CP858, CP860, CP863, CP865, CP866, WPC1252) into UTF-8. LF (or ESC d / ESC J) ends a
// line; a paper cut (GS V, ESC i, ESC m) ends a receipt; a drawer kick (ESC p, DLE DC4 1) marks
// the receipt, or is a receipt of its own (a drawer opened with nothing printed).
//
// What each receipt is (total, payment method, refund/void/no-sale) is recognised by the till's
// ReceiptPatterns on the finished lines. Card numbers are masked (card_mask.h) before a line
// leaves the parser.
//
// The stream is untrusted: memory is bounded (line length, lines per receipt, command payload),
// and the parser reports problems as a ParseError instead of throwing or asserting. After an
// error it ignores the rest of the stream (a command it cannot size leaves no way to resync).
//
// StarPRNT and Star Line Mode (Star Micronics' TSP100/TSP650/mC-Print/mPOP printers; the till's
// `printer_language`) share the printable bytes and the recognition; their commands all start
// with ESC (ESC GS and ESC RS take a third byte) and are sized from Star's "StarPRNT Command
// Specifications": text styles, feeds, tabs, bit and raster images (ESC K/L/X/k, ESC GS S),
// barcodes (ESC b … RS), QR and PDF417 codes (ESC GS y / x), page mode on/off. ESC d is the cut;
// BEL, FS, SUB and EM drive the drawer; ESC GS t selects Star's numbering of code pages. Star's
// raster mode (ESC * r, whole receipts sent as pictures) and download characters are not read:
// they are unknown commands (an error; the bytes are still forwarded).
//
// Not thread-safe: one parser per connection, fed from one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "transactions/receipt.h"

namespace vigil::transactions {

// The pattern strings a till's configuration gives ([[till]] total_pattern, …), ECMAScript
// regular expressions matched case-insensitively against each cleaned line. Empty = the default.
struct ReceiptPatternStrings {
  std::string total;  // group 1 is the amount: "1,234.50", "1.234,50", "12"
  std::string refund;
  std::string void_;
  std::string no_sale;
  std::string qr;
  std::string card;
  std::string cash;
};

// The defaults: work on common English receipts and a few other languages' usual words.
ReceiptPatternStrings default_receipt_patterns();

// ReceiptPatternStrings compiled once per till.
struct ReceiptPatterns {
  std::regex total, refund, void_, no_sale, qr, card, cash;
};

// The compiled patterns, or the message naming the pattern that does not compile (config
// validation shows it). Empty strings take the defaults.
struct CompiledPatterns {
  std::optional<ReceiptPatterns> patterns;
  std::string error;
};
CompiledPatterns compile_receipt_patterns(const ReceiptPatternStrings& strings);

// "1,234.50" / "1.234,50" / "12" -> minor units (cents) assuming two decimals: the last '.' or
// ',' is the decimal mark when one or two digits follow it, every other one groups thousands.
// nullopt for anything else (no digits, a letter, more than 18 digits).
std::optional<int64_t> parse_amount_minor(std::string_view text);

// Fills kind, method and total_minor of `r` from its lines: the last line matching the total
// pattern gives the total; void, then refund, then no-sale markers set the kind (else sale, or
// drawer_open for a drawer kick with no text); the first of QR, card, cash (in that order of
// preference, a QR or card receipt often also says "cash back" or "change") sets the method.
// A regex that gives up on a line (std::regex_error for complexity) counts as no match.
void recognise(PrintedReceipt& r, const ReceiptPatterns& patterns);

// The command language of a till's printer ([[till]] printer_language).
enum class PrinterLanguage {
  kEscPos,    // Epson ESC/POS and the many printers that follow it
  kStarPrnt,  // Star Micronics StarPRNT and Star Line Mode
};
// "esc-pos"; "star-prnt" or "star-line" (the names receipt libraries use); nullopt otherwise.
std::optional<PrinterLanguage> printer_language_from(std::string_view name);
// "ESC/POS" or "StarPRNT", for messages.
const char* printer_language_name(PrinterLanguage language);

struct ReceiptParserLimits {
  size_t max_line_bytes = 256;  // raw bytes kept per line; the rest is dropped
  size_t max_lines = 1000;      // per receipt; more is an error
  // Bytes of one command's data (an image, a QR code); more is an error.
  uint64_t max_command_payload = 4 << 20;
};

enum class ParseErrorCode {
  kUnknownCommand,   // a command the language does not define (or vigil does not read): its
                     // length is unknowable
  kPayloadTooLarge,  // a command announced more data than max_command_payload
  kTooManyLines,     // a receipt longer than max_lines
};

struct ParseError {
  ParseErrorCode code;
  uint64_t offset;      // of the byte that made the error, from the start of the stream
  std::string message;  // what and where, e.g. "unknown command GS 0x99 at byte 1234"
};

class ReceiptParser {
 public:
  // `patterns` must outlive the parser.
  ReceiptParser(std::string till_id, const ReceiptPatterns& patterns,
                ReceiptParserLimits limits = {},
                PrinterLanguage language = PrinterLanguage::kEscPos);

  // Reads the next `bytes` of the stream, which arrived at `now`. Receipts finished by a cut or a
  // lone drawer kick are appended to `out`. Returns false once the stream has an error (error()).
  bool feed(std::string_view bytes, WallTime now, std::vector<PrintedReceipt>& out);

  // The stream ended or went idle: the receipt in progress (text or drawer kick without a cut
  // yet), if any, is finished and appended to `out` with cut = false.
  void finish(WallTime now, std::vector<PrintedReceipt>& out);

  const std::optional<ParseError>& error() const { return error_; }
  uint64_t offset() const { return offset_; }

 private:
  enum class State { kText, kCommand, kSkip, kSkipUntil, kBlockHeader, kFailed };
  enum class Blocks { kNone, kUserChars, kNvImages };

  void byte(uint8_t b, WallTime now, std::vector<PrintedReceipt>& out);
  void command_byte(uint8_t b, WallTime now, std::vector<PrintedReceipt>& out);
  void skip(uint64_t n);
  void after_data();  // a command's data is skipped: next block header, or text
  void fail(ParseErrorCode code, std::string message);
  void done_escpos(WallTime now, std::vector<PrintedReceipt>& out);
  void done_star(WallTime now, std::vector<PrintedReceipt>& out);
  void text_byte(uint8_t b, WallTime now);
  void end_line(WallTime now);
  void cut(WallTime now, std::vector<PrintedReceipt>& out);
  void drawer_kick(WallTime now, std::vector<PrintedReceipt>& out);
  void emit(WallTime now, bool by_cut, std::vector<PrintedReceipt>& out);

  std::string till_id_;
  const ReceiptPatterns& patterns_;
  ReceiptParserLimits limits_;
  PrinterLanguage language_;
  State state_ = State::kText;
  std::array<uint8_t, 16> cmd_{};  // the command's bytes so far (prefix, function, parameters)
  size_t cmd_len_ = 0;
  uint64_t skip_ = 0;              // payload bytes still to skip (kSkipUntil: skipped so far)
  uint8_t terminator_ = 0;         // kSkipUntil: the byte that ends the command's data
  Blocks blocks_ = Blocks::kNone;  // ESC & and FS q: a count of blocks, each with its own header
  uint32_t blocks_left_ = 0;
  uint8_t block_height_ = 0;  // ESC &: y, bytes per column of each user character
  // The selected code page as ESC/POS numbers it (ESC t n; Star's ESC GS t n mapped to it);
  // -1 = a page vigil has no table for.
  int code_page_ = 0;
  uint64_t offset_ = 0;
  std::optional<ParseError> error_;

  std::string line_;  // raw bytes of the line in progress (code page, not yet UTF-8)
  bool line_started_ = false;
  WallTime line_at_{};
  bool receipt_started_ = false;
  PrintedReceipt receipt_;
};

}  // namespace vigil::transactions
