// The printer tap (printer_tap.h): Boost.Asio on a private io_context, one Connection object per
// till connection, kept alive by the handlers that hold it.
#include "transactions/printer_tap.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/supervision.h"

namespace vigil::transactions {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// "host:port" / "[v6]:port" split; false when there is no port.
bool split_host_port(const std::string& text, std::string& host, std::string& port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return !host.empty();
}

std::string peer_of(const tcp::socket& s) {
  error_code ec;
  const tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct PrinterTap::Impl {
  PrinterTapOptions options;
  ReceiptPatterns patterns;
  ReceiptCallback on_receipt;
  const Clock& clock;
  std::string forward_host, forward_port;

  size_t connections = 0;  // on the tap's thread only; outlives io (its handlers hold connections)
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<uint16_t> bound_port{0};

  Impl(PrinterTapOptions o, ReceiptPatterns p, ReceiptCallback cb, const Clock& c)
      : options(std::move(o)), patterns(std::move(p)), on_receipt(std::move(cb)), clock(c) {}

  void accept();
  void deliver(std::vector<PrintedReceipt>& receipts) {
    for (PrintedReceipt& r : receipts) {
      try {
        on_receipt(std::move(r));
      } catch (const std::exception& e) {
        spdlog::error("printer tap {}: storing a receipt: {}", options.till_id, e.what());
      }
    }
    receipts.clear();
  }
};

namespace {

// One till connection and, when forwarding, its printer connection.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(PrinterTap::Impl& tap, tcp::socket till)
      : tap_(tap),
        till_(std::move(till)),
        printer_(tap.io),
        resolver_(tap.io),
        timer_(tap.io),
        idle_(tap.io),
        peer_(peer_of(till_)),
        parser_(tap.options.till_id, tap.patterns, tap.options.limits, tap.options.language) {
    ++tap_.connections;
  }
  ~Connection() { --tap_.connections; }

  void start() {
    if (tap_.options.forward.empty()) {
      read_till();
      return;
    }
    auto self = shared_from_this();
    timer_.expires_after(tap_.options.connect_timeout);
    timer_.async_wait([this, self](error_code ec) {
      if (!ec && !printer_up_) {
        error_code ignored;
        resolver_.cancel();
        printer_.close(ignored);  // the pending connect fails: printer_unreachable
      }
    });
    resolver_.async_resolve(tap_.forward_host, tap_.forward_port,
                            [this, self](error_code ec, tcp::resolver::results_type results) {
                              if (ec) return printer_unreachable(ec);
                              asio::async_connect(
                                  printer_, results,
                                  [this, self](error_code ec2, const tcp::endpoint&) {
                                    if (ec2) return printer_unreachable(ec2);
                                    printer_up_ = true;
                                    timer_.cancel();
                                    read_till();
                                    read_printer();
                                  });
                            });
  }

 private:
  void printer_unreachable(error_code ec) {
    timer_.cancel();
    spdlog::warn(
        "printer tap {}: printer {} unreachable ({}); closing the till's connection "
        "from {}",
        tap_.options.till_id, tap_.options.forward,
        ec == asio::error::operation_aborted ? "timed out" : ec.message(), peer_);
    close();
  }

  void read_till() {
    auto self = shared_from_this();
    till_.async_read_some(asio::buffer(till_buf_), [this, self](error_code ec, size_t n) {
      if (ec) return till_ended(ec);
      const std::string_view chunk(till_buf_.data(), n);
      if (printer_up_) {
        // Forward first: the write is started (Asio tries the send at once) before parsing.
        asio::async_write(printer_, asio::buffer(till_buf_.data(), n),
                          [this, self](error_code ec2, size_t) {
                            if (ec2) return broken("printer", ec2);
                            read_till();
                          });
        parse(chunk);
      } else {
        parse(chunk);
        if (!closed_) read_till();
      }
    });
  }

  void read_printer() {
    auto self = shared_from_this();
    printer_.async_read_some(asio::buffer(printer_buf_), [this, self](error_code ec, size_t n) {
      if (ec) {
        // The printer closed its side: so does the till's (it sees what it would see directly).
        printer_done_ = true;
        error_code ignored;
        till_.shutdown(tcp::socket::shutdown_send, ignored);
        if (till_done_ || ec != asio::error::eof) close();
        return;
      }
      asio::async_write(till_, asio::buffer(printer_buf_.data(), n),
                        [this, self](error_code ec2, size_t) {
                          if (ec2) return broken("till", ec2);
                          read_printer();
                        });
    });
  }

  void parse(std::string_view chunk) {
    if (!parsing_) return;
    const bool ok = parser_.feed(chunk, tap_.clock.wall_now(), receipts_);
    tap_.deliver(receipts_);
    if (!ok) {
      parsing_ = false;
      const ParseError& e = *parser_.error();
      spdlog::warn(
          "printer tap {}: stream from {} is not {} the tap can read ({}); {}",
          tap_.options.till_id, peer_, printer_language_name(tap_.options.language), e.message,
          printer_up_ ? "still forwarded to the printer, no longer parsed" : "connection closed");
      if (!printer_up_) close();
      return;
    }
    arm_idle();
  }

  // A receipt that no cut ends (a till that never cuts, or keeps the connection open) is finished
  // after a quiet spell rather than held until the connection closes.
  void arm_idle() {
    auto self = shared_from_this();
    idle_.expires_after(tap_.options.idle_finish);
    idle_.async_wait([this, self](error_code ec) {
      if (ec || !parsing_) return;
      parser_.finish(tap_.clock.wall_now(), receipts_);
      tap_.deliver(receipts_);
    });
  }

  void till_ended(error_code ec) {
    till_done_ = true;
    idle_.cancel();
    if (parsing_) {
      parser_.finish(tap_.clock.wall_now(), receipts_);
      tap_.deliver(receipts_);
    }
    if (ec != asio::error::eof && ec != asio::error::operation_aborted)
      spdlog::info("printer tap {}: connection from {}: {}", tap_.options.till_id, peer_,
                   ec.message());
    if (!printer_up_ || printer_done_ || ec != asio::error::eof) return close();
    // The till is done sending; the printer may still answer (status bytes) before it closes.
    error_code ignored;
    printer_.shutdown(tcp::socket::shutdown_send, ignored);
    timer_.expires_after(tap_.options.connect_timeout);
    timer_.async_wait([this, self = shared_from_this()](error_code ec2) {
      if (!ec2) close();
    });
  }

  void broken(const char* side, error_code ec) {
    if (ec != asio::error::operation_aborted)
      spdlog::info("printer tap {}: connection from {}: writing to the {}: {}",
                   tap_.options.till_id, peer_, side, ec.message());
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    idle_.cancel();
    resolver_.cancel();
    till_.close(ignored);
    printer_.close(ignored);
  }

  PrinterTap::Impl& tap_;
  tcp::socket till_, printer_;
  tcp::resolver resolver_;
  asio::steady_timer timer_, idle_;
  std::string peer_;
  ReceiptParser parser_;
  std::vector<PrintedReceipt> receipts_;
  std::array<char, 16384> till_buf_;
  std::array<char, 1024> printer_buf_;
  bool printer_up_ = false, printer_done_ = false, till_done_ = false;
  bool parsing_ = true, closed_ = false;
};

}  // namespace

void PrinterTap::Impl::accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (connections >= options.max_connections) {
        spdlog::warn("printer tap {}: {} connections already; closing the one from {}",
                     options.till_id, connections, peer_of(socket));
      } else {
        std::make_shared<Connection>(*this, std::move(socket))->start();
      }
    }
    accept();
  });
}

PrinterTap::PrinterTap(PrinterTapOptions options, ReceiptPatterns patterns,
                       ReceiptCallback on_receipt, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(patterns), std::move(on_receipt),
                                   clock)) {}

PrinterTap::~PrinterTap() { stop(); }

void PrinterTap::start() {
  Impl& t = *impl_;
  const std::string what = "printer tap " + t.options.till_id;
  std::string host, port;
  if (!split_host_port(t.options.listen, host, port))
    throw Error(ErrorCode::kInvalidArgument,
                what + ": printer_listen '" + t.options.listen + "' is not host:port");
  if (!t.options.forward.empty() &&
      !split_host_port(t.options.forward, t.forward_host, t.forward_port))
    throw Error(ErrorCode::kInvalidArgument,
                what + ": printer_forward '" + t.options.forward + "' is not host:port");
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  char* end = nullptr;
  const unsigned long port_number = std::strtoul(port.c_str(), &end, 10);
  if (ec || *end != '\0' || port_number > 65535)
    throw Error(ErrorCode::kInvalidArgument,
                what + ": printer_listen '" + t.options.listen + "' is not an IP address and port");
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port_number));
  t.acceptor.open(endpoint.protocol(), ec);
  if (!ec) t.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) t.acceptor.bind(endpoint, ec);
  if (!ec) t.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw Error(ErrorCode::kUnavailable,
                what + ": listen on " + t.options.listen + ": " + ec.message());
  t.bound_port = t.acceptor.local_endpoint().port();
  t.accept();
  t.thread = std::thread([&t] {
    set_thread_name("tap " + t.options.till_id);
    t.io.run();
  });
  spdlog::info("printer tap {}: listening on {}{}", t.options.till_id, t.options.listen,
               t.options.forward.empty() ? "" : ", forwarding to " + t.options.forward);
}

void PrinterTap::stop() {
  Impl& t = *impl_;
  if (!t.thread.joinable()) return;
  t.io.stop();
  t.thread.join();
  error_code ignored;
  t.acceptor.close(ignored);
}

uint16_t PrinterTap::port() const { return impl_->bound_port; }

}  // namespace vigil::transactions
