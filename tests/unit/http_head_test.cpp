// HEAD through the real server (RFC 9110 §9.3.2): the headers the GET would have, Content-Length
// included, and not one byte of body — on a kept-alive connection, where a stray body would be
// read as the next answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "serve/http_server.h"
#include "test_support.h"

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

// A file body (segment media, exports) larger than one piece the server reads at a time: every
// byte arrives, in order, under the slice's Content-Length, and the connection stays usable for
// the next request (a body one byte too long or short would corrupt the next answer). HEAD of
// the same answer carries the length and no body.
TEST(HttpFileBody, SendsTheSliceInPiecesOnAKeptAliveConnection) {
  test::TempDir dir;
  std::string bytes(700 * 1024 + 13, '\0');  // nearly three pieces
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
  const auto path = dir.path() / "clip.mp4";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const uint64_t offset = 1000;
  const uint64_t length = bytes.size() - 2000;
  HttpSettings s;
  s.port = 0;
  s.threads = 1;
  HttpServer server(
      s,
      [&](const http::Request& req) {
        http::Response r;
        if (req.path() == "/after") {
          r.body = "after";
          return r;
        }
        r.content_type = "video/mp4";
        r.file = http::FileSlice{http::OpenFile::open(path), offset, length};
        return r;
      },
      [](const std::string&, std::string_view) { return http::RequestClass{}; });
  server.start();
  Socket sock(server.port());
  ASSERT_TRUE(sock.ok());
  sock.send(
      "HEAD /clip HTTP/1.1\r\nHost: x\r\n\r\nGET /clip HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string all = sock.read_until("\r\n\r\nafter");
  server.stop();

  const std::string len = "Content-Length: " + std::to_string(length) + "\r\n";
  const size_t head_end = all.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << all.substr(0, 200);
  // Each header line with its CRLF (the last one's is the first half of the blank line).
  EXPECT_NE(all.substr(0, head_end + 2).find(len), std::string::npos) << all.substr(0, head_end);
  // The HEAD answer has no body: the GET's status line follows its blank line at once.
  ASSERT_EQ(all.compare(head_end + 4, 12, "HTTP/1.1 200"), 0) << all.substr(0, 400);
  const size_t get_end = all.find("\r\n\r\n", head_end + 4);
  ASSERT_NE(get_end, std::string::npos);
  EXPECT_NE(all.substr(head_end + 4, get_end - head_end - 2).find(len), std::string::npos);
  ASSERT_GE(all.size(), get_end + 4 + length);
  EXPECT_TRUE(all.compare(get_end + 4, length, bytes, offset, length) == 0)
      << "the body is not the slice's bytes";
  // The next answer starts right after the slice.
  EXPECT_EQ(all.compare(get_end + 4 + length, 12, "HTTP/1.1 200"), 0);
  EXPECT_EQ(all.substr(all.size() - 5), "after");
}

}  // namespace
}  // namespace vigil
