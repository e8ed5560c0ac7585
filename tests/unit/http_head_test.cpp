// HEAD through the real server (RFC 9110 §9.3.2): the headers the GET would have, Content-Length
// included, and not one byte of body — on a kept-alive connection, where a stray body would be
// read as the next answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "serve/http_server.h"

namespace vigil {
namespace {

class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Socket() { ::close(fd_); }
  bool ok() const { return ok_; }
  void send(const std::string& s) { ASSERT_EQ(::write(fd_, s.data(), s.size()), ssize_t(s.size())); }
  // Reads until `text` has arrived (or the peer stops sending).
  std::string read_until(const std::string& text) {
    while (got_.find(text) == std::string::npos) {
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }

 private:
  int fd_;
  bool ok_ = false;
  std::string got_;
};

TEST(HttpHead, CarriesTheGetsHeadersAndLengthWithoutABody) {
  const std::string body = "{\"hello\": \"a body of 31 bytes\"}";
  HttpSettings s;
  s.port = 0;
  s.threads = 1;
  HttpServer server(
      s,
      [&](const http::Request& req) {
        http::Response r;
        r.body = req.path() == "/second" ? std::string("second") : body;
        r.with_header("X-Probe", "yes");
        return r;
      },
      [](const std::string&, std::string_view) { return http::RequestClass{}; });
  server.start();
  Socket sock(server.port());
  ASSERT_TRUE(sock.ok());
  // Two requests on one connection: HEAD, then GET. If the HEAD answer carried a body, the
  // second answer would start with it.
  sock.send("HEAD /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string all = sock.read_until("\r\n\r\nsecond");
  server.stop();

  const size_t first_end = all.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << all;
  const std::string head = all.substr(0, first_end);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size())), std::string::npos)
      << head;
  EXPECT_NE(head.find("X-Probe: yes"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
  // Right after the HEAD answer's blank line comes the GET's status line.
  EXPECT_EQ(all.compare(first_end + 4, 12, "HTTP/1.1 200"), 0) << all;
  EXPECT_NE(all.find("Content-Length: 6\r\n"), std::string::npos) << all;
  EXPECT_EQ(all.substr(all.size() - 6), "second");
}

}  // namespace
}  // namespace vigil
