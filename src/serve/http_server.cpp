// Beast is confined to this file: it is slow to compile, and nothing else needs to know it.
#include "serve/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/net_address.h"

namespace vigil {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// A handler pool: an io_context run by named, supervised threads (an asio::thread_pool's own
// threads could be neither named nor kept alive past a handler that throws).
class Pool {
 public:
  Pool(ComponentRegistry* components, const char* name)
      : threads_(components, {name, "", ""}, name) {}
  ~Pool() { stop(); }
  void start(int threads) { threads_.start([this] { ioc_.run(); }, {}, threads); }
  // Abandons queued handlers; joins.
  void stop() {
    ioc_.stop();
    threads_.stop();
  }
  net::io_context& context() { return ioc_; }

 private:
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(ioc_);
  SupervisedThread threads_;
};

// What every connection shares; held by shared_ptr so that a connection still queued in the
// io_context or the handler pool at shutdown never outlives it.
struct Shared {
  HttpSettings settings;
  HttpServer::Handler handler;
  HttpServer::ClassifyFn classify;
  net::io_context* pool = nullptr;
  net::io_context* slow_pool = nullptr;
  std::atomic<int> connections{0};
  std::atomic<int> slow_waiting{0};  // requests queued or running on the slow pool
  bool tls = false;
  std::vector<IpNetwork> proxies;  // [http] trusted_proxies
  // Open connections per peer address, for max_connections_per_address.
  std::mutex per_address_mu;
  std::map<std::string, int> per_address;

  // Counts a new connection from `peer`; false (and nothing counted) when that address already
  // holds its share. Trusted proxies carry everyone's connections and have no share of their own.
  bool admit(const std::string& peer) {
    std::lock_guard lock(per_address_mu);
    int& n = per_address[peer];
    if (n >= settings.max_connections_per_address && !in_networks(proxies, peer)) {
      if (n == 0) per_address.erase(peer);
      return false;
    }
    ++n;
    return true;
  }
  void release(const std::string& peer) {
    std::lock_guard lock(per_address_mu);
    auto it = per_address.find(peer);
    if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
  }
};

// The piece of a file body read and written at a time: large enough that a fast client costs
// few reads, small enough that many slow ones cost little memory (20 downloads: 5 MiB).
constexpr uint64_t kFilePiece = 256 * 1024;

// `head`: the answer to a HEAD request, which carries the headers the GET would have, its
// Content-Length included, and no body (RFC 9110 §9.3.2).
bhttp::response<bhttp::string_body> to_beast(const http::Response& r, unsigned version,
                                             bool keep_alive, bool head) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.insert(name, value);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  // Content-Length stays what prepare_payload() set for the body; the serializer then writes the
  // (now empty) body, i.e. nothing.
  if (head) res.body().clear();
  return res;
}

// One connection: reads requests one after another (keep-alive), hands each to the handler
// pool, writes the answer. Stream is a plain TCP stream or a TLS stream over one.
template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  // The caller has admitted `remote` (Shared::admit); the connection releases it when it ends.
  Connection(std::shared_ptr<Shared> shared, Stream stream, std::string remote)
      : shared_(std::move(shared)), stream_(std::move(stream)), remote_(std::move(remote)) {
    ++shared_->connections;
  }
  ~Connection() {
    --shared_->connections;
    shared_->release(remote_);
  }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_header();
    } else {
      beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return;  // not TLS, or gone: nothing to answer
                                self->read_header();
                              });
    }
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->settings.header_limit));
    parser_->body_limit(shared_->settings.body_limit);
    // A new connection must send its first request's header within header_timeout (a few
    // seconds: an idle connection that never asks for anything only holds a slot); between
    // requests a connection may idle for idle_timeout; a body must arrive within read_timeout.
    beast::get_lowest_layer(stream_).expires_after(first_ ? shared_->settings.header_timeout
                                                          : shared_->settings.idle_timeout);
    first_ = false;
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail(ec);
    const auto& h = parser_->get();
    version_ = h.version();
    class_ = shared_->classify(std::string(h.method_string()),
                               std::string_view(h.target().data(), h.target().size()));
    const uint64_t limit = class_.body_limit ? class_.body_limit : shared_->settings.body_limit;
    parser_->body_limit(limit);
    // A body declared too large is refused before it is sent (with "Expect: 100-continue" it
    // never is).
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return write(http::Response::error(
                       413, "request body larger than " + std::to_string(limit) + " bytes"),
                   false);
    }
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    if (beast::iequals(h[bhttp::field::expect], "100-continue")) {
      auto go_on =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
      bhttp::async_write(stream_, *go_on,
                         [self = this->shared_from_this(), go_on](beast::error_code ec, size_t) {
                           if (ec) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) return fail(ec);
    auto req = std::make_shared<http::Request>();
    const auto& msg = parser_->get();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, fresh] = req->headers.emplace(name, std::string(f.value()));
      if (!fresh) it->second += ", " + std::string(f.value());
    }
    req->body = msg.body();
    // Behind a trusted reverse proxy the client is who the proxy says (X-Forwarded-For), and so is
    // the scheme it used (X-Forwarded-Proto, the value the nearest proxy set); from anyone else
    // these headers are ignored.
    req->remote_address = forwarded_client(shared_->proxies, remote_, req->header("x-forwarded-for"));
    req->tls = shared_->tls;
    if (const std::string proto = req->header("x-forwarded-proto");
        !proto.empty() && in_networks(shared_->proxies, remote_)) {
      const size_t comma = proto.rfind(',');
      std::string last = proto.substr(comma == std::string::npos ? 0 : comma + 1);
      last.erase(0, last.find_first_not_of(' '));
      req->tls = beast::iequals(last, "https");
    }
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == bhttp::verb::head;
    // No read is pending while the handler runs: the connection sends nothing, so there is
    // nothing to time out; the handler pool's own size bounds the work in flight.
    beast::get_lowest_layer(stream_).expires_never();
    const bool slow = class_.slow;
    if (slow && ++shared_->slow_waiting > shared_->settings.password_queue_limit) {
      --shared_->slow_waiting;
      http::Response busy = http::Response::error(429, "too many password checks at once; try again");
      busy.with_header("Retry-After", "1");
      return write(busy, keep_alive_);
    }
    net::io_context& pool = slow ? *shared_->slow_pool : *shared_->pool;
    net::post(pool, [self = this->shared_from_this(), req, slow] {
      http::Response res;
      // Counted out when the check is done, whatever the answer.
      struct Done {
        Shared* s;
        bool slow;
        ~Done() {
          if (slow) --s->slow_waiting;
        }
      } done{self->shared_.get(), slow};
      try {
        res = self->shared_->handler(*req);
      } catch (...) {
        spdlog::error("http: {} {}: {}", req->method, req->target, describe_current_exception());
        res = http::Response::error(500, "the server failed; its log says why");
      }
      net::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        if (res.stream && self->head_) {
          // The GET would stream (chunked, then close); a HEAD gets its headers only. The
          // length is unknown, so there is no Content-Length.
          res.stream.reset();
          return self->write(res, false, true);
        }
        if (res.stream) return self->write_stream(res);
        if (res.file) return self->write_file(res);
        self->write(res, self->keep_alive_);
      });
    });
  }

  // Errors while reading: some deserve an answer before closing, the rest just a close.
  void fail(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == ssl::error::stream_truncated) {
      return close();
    }
    if (ec == bhttp::error::header_limit) {
      return write(
          http::Response::error(431, "request headers larger than " +
                                         std::to_string(shared_->settings.header_limit) + " bytes"),
          false);
    }
    if (ec == bhttp::error::body_limit) {
      return write(http::Response::error(413, "request body too large"), false);
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() ||
        ec == bhttp::error::partial_message) {
      return write(http::Response::error(400, "malformed HTTP request: " + ec.message()), false);
    }
    spdlog::debug("http: {}: {}", remote_, ec.message());
    close();
  }

  void write(const http::Response& r, bool keep_alive, bool unknown_length = false) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        to_beast(r, version_, keep_alive, head_));
    if (unknown_length) res->erase(bhttp::field::content_length);
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !res->keep_alive()) return self->close();
                         self->read_header();
                       });
  }

  // The status line and headers of `r`, for an answer whose body is sent separately.
  std::shared_ptr<bhttp::response<bhttp::empty_body>> header_of(const http::Response& r) const {
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(r.status), version_);
    if (!r.content_type.empty()) head->set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) head->insert(name, value);
    return head;
  }

  // A file body (segment media, exports, bundles): the header with the slice's Content-Length,
  // then the slice one piece at a time. Each piece is read on the handler pool (a disk read must
  // not stall the I/O thread) and written before the next is read, so a download holds one
  // piece of memory however large the file and however slow the client. A client that takes
  // longer than read_timeout to accept one piece is closed, as for any write.
  void write_file(const http::Response& r) {
    auto head = header_of(r);
    head->keep_alive(keep_alive_);
    head->content_length(r.file->length);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    auto send = std::make_shared<FileSend>(FileSend{*r.file, 0, {}, keep_alive_});
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    bhttp::async_write_header(
        stream_, *sr,
        [self = this->shared_from_this(), head, sr, send](beast::error_code ec, size_t) {
          if (ec) return self->close();
          // A HEAD answer is the header alone (RFC 9110 §9.3.2).
          if (self->head_ || send->slice.length == 0) return self->file_sent(*send);
          send->buffer.resize(static_cast<size_t>(std::min(kFilePiece, send->slice.length)));
          self->read_piece(send);
        });
  }

  struct FileSend {
    http::FileSlice slice;
    uint64_t sent = 0;
    std::vector<char> buffer;  // one piece, reused for every piece of the download
    bool keep_alive = false;
  };

  void read_piece(const std::shared_ptr<FileSend>& send) {
    net::post(*shared_->pool, [self = this->shared_from_this(), send] {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(send->buffer.size(), send->slice.length - send->sent));
      size_t got = 0;
      std::string failure;
      try {
        got = send->slice.file->read_at(send->slice.offset + send->sent, send->buffer.data(), want);
        if (got == 0) failure = "the file is shorter than it was";
      } catch (...) {
        failure = describe_current_exception();
      }
      net::post(self->stream_.get_executor(), [self, send, got, failure] {
        if (!failure.empty()) {
          // The header promised a length that can no longer be kept: closing is the only way
          // left to tell the client the body is incomplete.
          spdlog::warn("http: {}: sending {} stopped after {} of {} bytes: {}", self->remote_,
                       send->slice.file->path(), send->sent, send->slice.length, failure);
          return self->close();
        }
        self->write_piece(send, got);
      });
    });
  }

  void write_piece(const std::shared_ptr<FileSend>& send, size_t n) {
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    net::async_write(stream_, net::buffer(send->buffer.data(), n),
                     [self = this->shared_from_this(), send, n](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       send->sent += n;
                       if (send->sent < send->slice.length) return self->read_piece(send);
                       self->file_sent(*send);
                     });
  }

  void file_sent(const FileSend& send) {
    if (!send.keep_alive) return close();
    read_header();
  }

  // A streamed body (live view): the header, then every batch the stream gives as one chunk
  // (RFC 9112 §7.1), until the stream ends or the client goes. Runs on the connection's strand
  // and holds no handler thread while it waits for data. A client that stops reading is closed
  // when a write has not finished within read_timeout; meanwhile its stream bounds what it
  // queues (live_hub.h).
  void write_stream(const http::Response& r) {
    auto head = header_of(r);
    head->keep_alive(false);
    head->chunked(true);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    auto body = r.stream;
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    bhttp::async_write_header(
        stream_, *sr,
        [self = this->shared_from_this(), head, sr, body](beast::error_code ec, size_t) {
          if (ec) return self->end_stream(body, true);
          self->pull(body);
        });
  }

  void pull(const std::shared_ptr<http::BodyStream>& body) {
    // Waiting for the camera's next frame is not the client's fault: no timeout while idle.
    beast::get_lowest_layer(stream_).expires_never();
    body->pull([self = this->shared_from_this(), body](http::BodyStream::Chunks chunks) {
      net::post(self->stream_.get_executor(), [self, body, chunks = std::move(chunks)]() mutable {
        self->write_chunks(body, std::move(chunks));
      });
    });
  }

  void write_chunks(const std::shared_ptr<http::BodyStream>& body,
                    http::BodyStream::Chunks chunks) {
    if (stream_done_) return;
    beast::get_lowest_layer(stream_).expires_after(shared_->settings.read_timeout);
    if (chunks.empty()) {
      auto last = std::make_shared<decltype(bhttp::make_chunk_last())>(bhttp::make_chunk_last());
      net::async_write(stream_, *last,
                       [self = this->shared_from_this(), body, last](beast::error_code, size_t) {
                         self->end_stream(body, true);
                       });
      return;
    }
    std::vector<net::const_buffer> bufs;
    bufs.reserve(chunks.size());
    for (const auto& c : chunks) bufs.emplace_back(net::buffer(*c));
    auto chunk = std::make_shared<bhttp::chunk_body<std::vector<net::const_buffer>>>(
        bhttp::make_chunk(std::move(bufs)));
    net::async_write(stream_, *chunk,
                     [self = this->shared_from_this(), body, chunk, chunks = std::move(chunks)](
                         beast::error_code ec, size_t) {
                       if (ec) return self->end_stream(body, true);
                       self->pull(body);
                     });
  }

  void end_stream(const std::shared_ptr<http::BodyStream>& body, bool close_connection) {
    if (stream_done_) return;
    stream_done_ = true;
    net::post(*shared_->pool, [body] { body->close(); });
    if (close_connection) close();
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      drain(0);
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
      });
    }
  }

  // A lingering close: after answering (say, 413) the client may still be sending; closing with
  // unread bytes would make the kernel send a reset that can destroy the answer before the
  // client reads it. So read and discard until the client closes, for a bounded time and size.
  void drain(size_t drained) {
    if (drained > 4 * 1024 * 1024) return;  // gone with the last reference: the socket closes
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    auto buf = std::make_shared<std::array<char, 16 * 1024>>();
    stream_.async_read_some(net::buffer(*buf), [self = this->shared_from_this(), buf, drained](
                                                   beast::error_code ec, size_t n) {
      if (!ec) self->drain(drained + n);
    });
  }

  std::shared_ptr<Shared> shared_;
  Stream stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  http::RequestClass class_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is a HEAD
  bool first_ = true;
  bool stream_done_ = false;
};

}  // namespace

struct HttpServer::Impl {
  explicit Impl(ComponentRegistry* c)
      : components(c), io_threads(c, {"http-io", "", ""}, "http-io") {}

  ComponentRegistry* components;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  net::io_context ioc;
  std::optional<Pool> pool;
  std::optional<Pool> slow_pool;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  SupervisedThread io_threads;
  int port = 0;
  bool running = false;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;  // stopping
      if (!ec) on_accept(std::move(s));
      accept();
    });
  }

  void on_accept(tcp::socket s) {
    beast::error_code ec;
    const auto ep = s.remote_endpoint(ec);
    if (ec) return;
    if (shared->connections.load() >= shared->settings.max_connections) {
      // Full: close at once rather than queue, so the clients already served stay served.
      spdlog::warn("http: {} connections open (the maximum); refusing {}",
                   shared->settings.max_connections, ep.address().to_string());
      s.close(ec);
      return;
    }
    // One address cannot take every slot (e.g. 256 live streams) and lock the others out.
    const std::string peer = ep.address().to_string();
    if (!shared->admit(peer)) {
      spdlog::warn("http: {} holds {} connections (max_connections_per_address); refusing another",
                   peer, shared->settings.max_connections_per_address);
      s.close(ec);
      return;
    }
    s.set_option(tcp::no_delay(true), ec);
    if (tls) {
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          shared, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *tls),
          ep.address().to_string())
          ->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(shared, beast::tcp_stream(std::move(s)),
                                                      ep.address().to_string())
          ->start();
    }
  }
};

HttpServer::HttpServer(const HttpSettings& settings, Handler handler, ClassifyFn classify,
                       ComponentRegistry* components)
    : impl_(std::make_unique<Impl>(components)) {
  impl_->shared->settings = settings;
  for (const auto& p : settings.trusted_proxies) {
    if (auto n = parse_ip_network(p)) impl_->shared->proxies.push_back(*n);  // validated at load
  }
  impl_->shared->handler = std::move(handler);
  impl_->shared->classify = std::move(classify);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  const HttpSettings& s = impl_->shared->settings;
  if (!s.tls_cert.empty()) {
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    impl_->tls->use_certificate_chain_file(s.tls_cert.string(), ec);
    if (ec) {
      throw Error(ErrorCode::kInvalidArgument,
                  "http.tls_cert " + s.tls_cert.string() + ": " + ec.message());
    }
    impl_->tls->use_private_key_file(s.tls_key.string(), ssl::context::pem, ec);
    if (ec) {
      throw Error(ErrorCode::kInvalidArgument,
                  "http.tls_key " + s.tls_key.string() + ": " + ec.message());
    }
    impl_->shared->tls = true;
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(s.address, ec);
  if (ec)
    throw Error(ErrorCode::kInvalidArgument, "http.address " + s.address + ": " + ec.message());
  const tcp::endpoint ep(address, static_cast<unsigned short>(s.port));
  const std::string where = "http: listen on " + s.address + ":" + std::to_string(s.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::kUnavailable, where + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->pool.emplace(impl_->components, "http-handler");
  impl_->pool->start(s.threads);
  impl_->shared->pool = &impl_->pool->context();
  impl_->slow_pool.emplace(impl_->components, "http-slow");
  impl_->slow_pool->start(std::max(1, s.threads / 2));
  impl_->shared->slow_pool = &impl_->slow_pool->context();
  impl_->accept();
  // An exception out of a completion handler leaves run() on that thread only; the supervisor
  // runs it again (asio allows that without a restart()).
  impl_->io_threads.start([this] { impl_->ioc.run(); }, {}, s.threads);
  impl_->running = true;
}

void HttpServer::stop() {
  if (!impl_->running) return;
  impl_->running = false;
  // I/O first, so no new request reaches the handlers; then the handlers, abandoning queued ones.
  impl_->ioc.stop();
  impl_->io_threads.stop();
  beast::error_code ec;
  impl_->acceptor.close(ec);
  impl_->pool->stop();
  impl_->slow_pool->stop();
}

int HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const {
  const HttpSettings& s = impl_->shared->settings;
  std::string host = s.address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::")
    host = "[::1]";
  else if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return std::string(impl_->shared->tls ? "https" : "http") + "://" + host + ":" +
         std::to_string(impl_->port) + "/";
}

}  // namespace vigil
