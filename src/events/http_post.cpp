#include "events/http_post.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <regex>

namespace vigil {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// Sends `req` on a connected stream and reads the answer; everything async so the stream's
// deadline (beast::tcp_stream::expires_after) bounds it.
template <typename Stream>
void exchange(Stream& stream, bhttp::request<bhttp::string_body>& req, HttpPostResult& out,
              beast::flat_buffer& buf, bhttp::response<bhttp::string_body>& res) {
  bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != beast::error::timeout) out.error = "send: " + ec.message();
      return;
    }
    bhttp::async_read(stream, buf, res, [&](beast::error_code ec2, std::size_t) {
      if (ec2) {
        if (ec2 != beast::error::timeout) out.error = "answer: " + ec2.message();
        return;
      }
      out.status = static_cast<int>(res.result_int());
      out.body = std::move(res.body());
    });
  });
}

}  // namespace

bool parse_http_url(const std::string& url, ParsedUrl& out) {
  static const std::regex re(
      R"(^(https?)://([^/:?#\s]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?([/?][^\s]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return false;
  out.tls = m[1].str() == "https";
  out.host = m[2].str();
  if (out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  out.port = m[4].matched ? m[4].str() : (out.tls ? "443" : "80");
  out.target = m[5].matched ? m[5].str() : "/";
  if (out.target.front() == '?') out.target = "/" + out.target;
  return true;
}

HttpPostResult http_post(const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, std::chrono::milliseconds timeout,
                         const std::filesystem::path& ca_file) {
  HttpPostResult out;
  ParsedUrl u;
  if (!parse_http_url(url, u)) {
    out.error = "not an http(s) URL";
    return out;
  }
  asio::io_context ioc;
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, u.target, 11};
  req.set(bhttp::field::host, u.host);
  req.set(bhttp::field::user_agent, "vigil");
  req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  tcp::resolver resolver(ioc);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  if (ca_file.empty()) {
    ctx.set_default_verify_paths();
  } else {
    beast::error_code ec;
    ctx.load_verify_file(ca_file.string(), ec);
    if (ec) {
      out.error = "TLS: cannot read ca_file " + ca_file.string() + ": " + ec.message();
      return out;
    }
  }
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> tls_stream(ioc, ctx);
  beast::tcp_stream plain(ioc);
  beast::tcp_stream& tcp_layer = u.tls ? beast::get_lowest_layer(tls_stream) : plain;
  tcp_layer.expires_after(timeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) {
      out.error = "resolve " + u.host + ": " + ec.message();
      return;
    }
    tcp_layer.async_connect(r, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) {
        if (ec2 != beast::error::timeout) {
          out.error = "connect to " + u.host + ":" + u.port + ": " + ec2.message();
        }
        return;
      }
      if (!u.tls) {
        exchange(plain, req, out, buf, res);
        return;
      }
      SSL_set_tlsext_host_name(tls_stream.native_handle(), u.host.c_str());
      tls_stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
      tls_stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec3) {
        if (ec3) {
          out.error = ec3 == beast::error::timeout ? "" : "TLS: " + ec3.message();
          return;
        }
        exchange(tls_stream, req, out, buf, res);
      });
    });
  });
  // The resolver is not bounded by the stream's deadline; bound the whole run as well.
  ioc.run_for(timeout + std::chrono::milliseconds(100));
  // A deadline that expired leaves no error text behind (above): that is the timeout.
  if (out.status == 0 && out.error.empty()) {
    out.error = "timed out after " + std::to_string(timeout.count()) + " ms";
  }
  return out;
}

}  // namespace vigil
