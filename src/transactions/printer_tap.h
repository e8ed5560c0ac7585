// The receipt printer tap (issue 19): a TCP listener per till that stands where the till expects
// its network receipt printer (raw TCP, "port 9100" printing). The till's bytes are forwarded
// unchanged and at once to the real printer when one is configured, and read by a ReceiptParser;
// each finished receipt goes to a callback (the transaction store). The printer's answers
// (status bytes for DLE EOT, ASB) are relayed back to the till unchanged.
//
//   till ──TCP──▶ vigil printer_listen ──TCP──▶ printer_forward (real printer)
//        ◀──────── status bytes ◀────────────────
//                        │ parse (after forwarding)
//                        ▼
//                 PrintedReceipt → callback
//
// Forwarding never waits for parsing: a chunk read from the till is written to the printer
// first, then parsed while the write is under way; the next chunk is read once the printer has
// taken this one, so a slow printer slows the till exactly as it would without vigil.
//
// Choices (docs/printer-tap.md):
// - Printer unreachable: the till's connection is closed as soon as the printer connection
//   fails (connect refused or no answer within connect_timeout), so the till sees a printer
//   that is not there and reports it as it always does. Nothing is parsed from it.
// - A stream the parser rejects (unknown command, oversized image or receipt): logged with the
//   till and the peer's address. Without forwarding the connection is closed. With forwarding
//   the bytes keep flowing to the printer and only the parsing stops for that connection: vigil
//   must never stop a receipt from printing because it does not know a command.
//
// Threading: one io_context and one thread ("tap <till>") per tap; the callback runs on that
// thread and must not block for long (queue the receipt). Nothing is shared between taps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "transactions/receipt.h"
#include "transactions/receipt_parser.h"

namespace vigil::transactions {

struct PrinterTapOptions {
  std::string till_id;
  std::string listen;   // "host:port" or "[v6]:port"; port 0 picks a free one (tests)
  std::string forward;  // the real printer's "host:port"; empty = listen only (no printer)
  PrinterLanguage language = PrinterLanguage::kEscPos;  // what the till's printer speaks
  ReceiptParserLimits limits;
  // Connecting to the printer; a till's own timeout to its printer is usually a few seconds.
  std::chrono::milliseconds connect_timeout{3000};
  // A receipt with no cut yet is finished (cut = false) after this long without bytes.
  std::chrono::milliseconds idle_finish{5000};
  // Till connections at once; a further one is closed (a till prints on one connection).
  size_t max_connections = 4;
};

using ReceiptCallback = std::function<void(PrintedReceipt)>;

class PrinterTap {
 public:
  // `patterns` is copied; `clock` dates the receipts and must outlive the tap.
  PrinterTap(PrinterTapOptions options, ReceiptPatterns patterns, ReceiptCallback on_receipt,
             const Clock& clock);
  ~PrinterTap();
  PrinterTap(const PrinterTap&) = delete;
  PrinterTap& operator=(const PrinterTap&) = delete;

  // Binds printer_listen and starts the tap's thread. Throws Error (kInvalidArgument for an
  // address that does not parse, kUnavailable when it cannot be bound) naming the till.
  void start();
  // Closes the listener and every connection, joins the thread. Idempotent.
  void stop();
  // The bound port (after start): what a test connects to when it listened on port 0.
  uint16_t port() const;

  struct Impl;  // printer_tap.cpp (its connections reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::transactions
