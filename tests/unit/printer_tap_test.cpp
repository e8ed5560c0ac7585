// The printer tap (src/transactions/printer_tap.*) on real sockets on 127.0.0.1: the till
// simulator (tests/till/till.js, a real ESC/POS library under node) prints through the tap to a
// TCP "printer" in this test, which must receive every byte unchanged and whose status answer
// must reach the till; the receipts reach the callback. Also: a printer that is down, a stream
// of garbage, and a tap without a printer.
#include "transactions/printer_tap.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "test_support.h"

using namespace vigil;
using namespace vigil::transactions;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A listening socket on 127.0.0.1 on a free port.
int listen_any(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{30, 0};  // a bound so that a broken tap fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until the peer closes; false if it did not within the receive timeout.
bool read_to_end(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
    out.append(buf, static_cast<size_t>(n));
  }
}

// A network receipt printer: takes one connection, keeps every byte, answers a status request
// (DLE EOT 1) with one status byte (0x16: online, as Epson's TM printers answer), and closes
// when the till has closed its side.
class FakePrinter {
 public:
  FakePrinter() : fd_(listen_any(port_)) {
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (;;) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        bytes_.append(buf, static_cast<size_t>(n));
        if (bytes_.ends_with(std::string("\x10\x04\x01", 3))) (void)::send(c, "\x16", 1, 0);
      }
      ::close(c);
    });
  }
  ~FakePrinter() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string bytes() {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  uint16_t port_ = 0;
  int fd_;
  std::thread thread_;
  std::mutex mu_;
  std::string bytes_;
};

// What the tap's callback received, waited for with a bound.
class Receipts {
 public:
  ReceiptCallback callback() {
    return [this](PrintedReceipt r) {
      std::lock_guard lock(mu_);
      got_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  std::vector<PrintedReceipt> wait_for(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return got_.size() >= n; });
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PrintedReceipt> got_;
};

ReceiptPatterns default_patterns() { return *compile_receipt_patterns({}).patterns; }

PrinterTapOptions options(const std::string& forward = "") {
  PrinterTapOptions o;
  o.till_id = "t1";
  o.listen = "127.0.0.1:0";
  o.forward = forward;
  return o;
}

PrinterTapOptions forwarding_to(const FakePrinter& printer) {
  return options("127.0.0.1:" + std::to_string(printer.port()));
}

// A started tap and what its callback received.
struct Tap {
  explicit Tap(PrinterTapOptions o)
      : tap(std::move(o), default_patterns(), receipts.callback(), clock) {
    tap.start();
  }
  Receipts receipts;
  SystemClock clock;
  PrinterTap tap;
};

// Runs the till simulator printing its receipts in `language` to the tap on `port`; returns
// what it printed on stdout (the printer's status answer in hex), "" if it failed.
std::string print_from_till(uint16_t port, const std::filesystem::path& sent,
                            const std::string& language) {
  const std::string cmd = "node " VIGIL_TILL_SIMULATOR " print 127.0.0.1 " +
                          std::to_string(port) + " " + sent.string() + " " + language;
  FILE* till = ::popen(cmd.c_str(), "r");
  if (!till) return "";
  std::string answer;
  char buf[256];
  while (std::fgets(buf, sizeof buf, till)) answer += buf;
  const int rc = ::pclose(till);
  EXPECT_EQ(rc, 0) << cmd;
  return rc == 0 ? answer : "";
}

// The till simulator prints its four receipts in `language` through the tap `t` to `printer`;
// returns the receipts the tap read. Checks on the way that the printer's status byte reached
// the till through the tap, that every byte the till sent reached the printer, unchanged and in
// order (the status request included), and that the library's stream is the one committed as
// test data in tests/data/receipts/`fixture_dir`.
std::vector<PrintedReceipt> print_through(Tap& t, FakePrinter& printer,
                                          const std::string& language,
                                          const std::string& fixture_dir) {
  test::TempDir dir;
  const std::filesystem::path sent = dir.path() / "sent.bin";
  EXPECT_EQ(print_from_till(t.tap.port(), sent, language), "16\n");
  auto got = t.receipts.wait_for(4);
  const std::string stream = read_file(sent);
  EXPECT_EQ(printer.bytes(), stream + std::string("\x10\x04\x01", 3));
  std::string fixtures;
  for (const char* f : {"1_sale_qr.bin", "2_refund_cash.bin", "3_no_sale.bin", "4_card_euro.bin"})
    fixtures += read_file(std::filesystem::path(VIGIL_RECEIPT_DATA_DIR) / fixture_dir / f);
  EXPECT_EQ(stream, fixtures) << "tests/data/receipts/" << fixture_dir
                              << " is stale: regenerate it with till.js";
  return got;
}

}  // namespace

TEST(PrinterTap, TillSimulatorThroughTapToPrinter) {
  FakePrinter printer;
  Tap t(forwarding_to(printer));
  const auto got = print_through(t, printer, "esc-pos", "");

  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].kind, Kind::kSale);
  EXPECT_EQ(got[0].method, Method::kQr);
  EXPECT_EQ(got[0].total_minor, 123450);
  EXPECT_EQ(got[0].lines.front().text, "CORNER SHOP");
  EXPECT_TRUE(got[0].cut);
  EXPECT_EQ(got[1].kind, Kind::kRefund);
  EXPECT_EQ(got[1].method, Method::kCash);
  EXPECT_EQ(got[1].total_minor, 1100);
  EXPECT_TRUE(got[1].drawer_kick);
  EXPECT_EQ(got[2].kind, Kind::kDrawerOpen);
  EXPECT_EQ(got[3].method, Method::kCard);
  EXPECT_EQ(got[3].total_minor, 123450);
  bool masked = false;
  for (const PrintedReceipt& r : got)
    for (const ReceiptLine& l : r.lines) {
      EXPECT_EQ(l.text.find("4111 1111 1111 1111"), std::string::npos) << l.text;
      masked = masked || l.text == "VISA **** **** **** 1111";
      EXPECT_EQ(r.till_id, "t1");
      EXPECT_LE(r.started, l.at);
      EXPECT_LE(l.at, r.ended);
    }
  EXPECT_TRUE(masked);
}

// A till configured as printing to a Star printer: the library's StarPRNT stream goes through
// unchanged and is read with Star's commands (the parser's own tests compare every line).
TEST(PrinterTap, StarTillThroughTapToPrinter) {
  FakePrinter printer;
  PrinterTapOptions o = forwarding_to(printer);
  o.language = PrinterLanguage::kStarPrnt;
  Tap t(std::move(o));
  const auto got = print_through(t, printer, "star-prnt", "star-prnt");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].method, Method::kQr);
  EXPECT_EQ(got[0].total_minor, 123450);
  EXPECT_EQ(got[1].kind, Kind::kRefund);
  EXPECT_TRUE(got[1].drawer_kick);
  EXPECT_EQ(got[2].kind, Kind::kDrawerOpen);
  EXPECT_EQ(got[3].lines.at(4).text, "VISA **** **** **** 1111");
}

TEST(PrinterTap, PrinterDownClosesTheTillsConnection) {
  uint16_t dead_port = 0;
  ::close(listen_any(dead_port));  // a port nothing listens on any more: connection refused
  Tap t(options("127.0.0.1:" + std::to_string(dead_port)));
  const int fd = connect_to(t.tap.port());
  std::string ignored;
  EXPECT_TRUE(read_to_end(fd, ignored));  // closed by the tap, as the printer would be
  ::close(fd);
}

TEST(PrinterTap, GarbageClosesOnlyThatConnection) {
  Tap t(options());
  const int bad = connect_to(t.tap.port());
  const std::string garbage = "RECEIPT\n" + std::string("\x1b\xfe\x01\x02 garbage", 12);
  ASSERT_EQ(::send(bad, garbage.data(), garbage.size(), 0), static_cast<ssize_t>(garbage.size()));
  std::string ignored;
  EXPECT_TRUE(read_to_end(bad, ignored));
  ::close(bad);

  // The tap still takes the next till connection: a receipt without a cut, ended by the close.
  const int good = connect_to(t.tap.port());
  const std::string text = "SHOP\nTOTAL 2,000.00\nCASH\n";
  ASSERT_EQ(::send(good, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  ::shutdown(good, SHUT_WR);
  EXPECT_TRUE(read_to_end(good, ignored));
  ::close(good);
  const auto got = t.receipts.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].cut);
  EXPECT_EQ(got[0].total_minor, 200000);
  EXPECT_EQ(got[0].method, Method::kCash);
  EXPECT_EQ(got[0].lines.size(), 3u);
}

TEST(PrinterTap, BadAddressesAreErrorsNamingTheTill) {
  Receipts receipts;
  SystemClock clock;
  PrinterTapOptions o = options();
  o.listen = "not an address";
  PrinterTap tap(o, default_patterns(), receipts.callback(), clock);
  try {
    tap.start();
    FAIL() << "started";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("t1"), std::string::npos) << e.what();
  }
}

TEST(PrinterTap, GarbageStillReachesThePrinterWhenForwarding) {
  FakePrinter printer;
  Tap t(forwarding_to(printer));
  const int till = connect_to(t.tap.port());
  // A command the tap does not know stops its parsing, not the printing.
  const std::string stream =
      "A\n" + std::string("\x1b\xfe", 2) + "B\n" + std::string("\x1dV\x00", 3);
  ASSERT_EQ(::send(till, stream.data(), stream.size(), 0), static_cast<ssize_t>(stream.size()));
  ::shutdown(till, SHUT_WR);
  std::string ignored;
  EXPECT_TRUE(read_to_end(till, ignored));
  ::close(till);
  t.tap.stop();  // after the till's connection is done: every handler has run
  EXPECT_EQ(printer.bytes(), stream);
  EXPECT_TRUE(t.receipts.wait_for(0).empty());
}

TEST(PrinterTap, ReceiptWithoutCutEndsAfterIdle) {
  PrinterTapOptions o = options();
  o.idle_finish = std::chrono::milliseconds(50);
  Tap t(o);
  const int till = connect_to(t.tap.port());
  const std::string text = "NO SALE\n";
  ASSERT_EQ(::send(till, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  // The connection stays open; the quiet spell ends the receipt.
  const auto got = t.receipts.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Kind::kNoSale);
  EXPECT_FALSE(got[0].cut);
  ::close(till);
}
