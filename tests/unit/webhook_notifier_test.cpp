// WebhookNotifier against a local HTTP endpoint run by the test (a socket on a free 127.0.0.1
// port): the body, the HMAC signature (checked with OpenSSL here), retries after a 500 and while
// the endpoint is down, and drops counted after the last attempt.
#include "events/webhook_notifier.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include "events/http_post.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

bool eventually(const std::function<bool()>& cond, milliseconds bound = milliseconds(20'000)) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return cond();
}

struct Hit {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A one-connection-at-a-time HTTP/1.1 endpoint: answers each request with the next status of
// `statuses` (then 200) and records it.
class Endpoint {
 public:
  explicit Endpoint(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~Endpoint() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook?k=1"; }
  std::vector<Hit> hits() {
    std::lock_guard lock(mu_);
    return hits_;
  }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t body_len = 0;
      while (true) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos &&
            (header_end = in.find("\r\n\r\n")) != std::string::npos) {
          header_end += 4;
          auto p = in.find("Content-Length: ");
          if (p == std::string::npos) p = in.find("content-length: ");
          if (p != std::string::npos) body_len = std::stoul(in.substr(p + 16));
        }
        if (header_end != std::string::npos && in.size() >= header_end + body_len) break;
      }
      Hit h;
      h.method = in.substr(0, in.find(' '));
      h.target = in.substr(in.find(' ') + 1, in.find(' ', in.find(' ') + 1) - in.find(' ') - 1);
      size_t pos = in.find("\r\n") + 2;
      while (pos < header_end - 2) {
        const size_t eol = in.find("\r\n", pos);
        const std::string line = in.substr(pos, eol - pos);
        std::string name = line.substr(0, line.find(':'));
        for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
        h.headers[name] = line.substr(line.find(':') + 2);
        pos = eol + 2;
      }
      h.body = in.substr(header_end, body_len);
      int status;
      {
        std::lock_guard lock(mu_);
        hits_.push_back(h);
        status = next_ < statuses_.size() ? statuses_[next_++] : 200;
      }
      const std::string res = "HTTP/1.1 " + std::to_string(status) +
                              " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(c, res.data(), res.size());
      ::close(c);
    }
  }

  int fd_;
  int port_;
  std::atomic<bool> stop_{false};
  std::vector<int> statuses_;
  size_t next_ = 0;
  std::mutex mu_;
  std::vector<Hit> hits_;
  std::thread thread_;
};

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  char hex[3];
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

EventNotice notice(EventNotice::Kind kind, const std::string& type = "motion") {
  EventNotice n;
  n.kind = kind;
  n.id = 12;
  n.camera_id = "front";
  n.camera_name = "Front";
  n.type = type;
  n.start = wall_from_ms(1'790'000'000'000);
  n.peak_score = 0.5;
  return n;
}

WebhookTarget target(const std::string& url) {
  WebhookTarget t;
  t.url = url;
  t.secret = "s3cret";
  t.retry_initial = milliseconds(20);
  t.max_attempts = 3;
  t.timeout = milliseconds(2000);
  return t;
}

TEST(Webhook, SignatureIsTheHexHmacSha256OfTimestampDotBody) {
  // RFC 4231 test case 2 is the HMAC of "what do ya want for nothing?": timestamp
  // "what do ya want for nothing" and body "?" are not, since a '.' joins them.
  EXPECT_EQ(hmac_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing", "?"),
            "sha256=" + hmac_hex("Jefe", "what do ya want for nothing.?"));
  // A replay with another timestamp does not verify.
  EXPECT_NE(webhook_signature("k", "1790000000", "{}"), webhook_signature("k", "1790000001", "{}"));
}

TEST(Webhook, PostsSignedJsonAndRetriesAfterA500) {
  Endpoint ep({500});
  WebhookTarget t = target(ep.url());
  WebhookTarget motion_only = target(ep.url());
  motion_only.types = {"tamper_covered"};
  motion_only.secret.clear();
  WebhookNotifier hooks({t, motion_only});
  hooks.notify(notice(EventNotice::Kind::kStart));
  ASSERT_TRUE(eventually([&] { return hooks.stats()[0].delivered == 1; }));
  const auto hits = ep.hits();
  ASSERT_EQ(hits.size(), 2u);  // the 500, then the retry
  EXPECT_EQ(hits[0].body, hits[1].body);
  const Hit& h = hits[1];
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/hook?k=1");
  EXPECT_EQ(h.headers.at("content-type"), "application/json");
  EXPECT_EQ(h.headers.at("x-vigil-event"), "start");
  const std::string ts = h.headers.at("x-vigil-timestamp");
  EXPECT_EQ(h.headers.at("x-vigil-signature"), "sha256=" + hmac_hex("s3cret", ts + "." + h.body));
  // The time of sending, in Unix seconds.
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(std::abs(std::stoll(ts) - now_s), 60) << ts;
  const json j = json::parse(h.body);
  EXPECT_EQ(j["event"], "start");
  EXPECT_EQ(j["id"], 12);
  EXPECT_EQ(j["camera"], "front");
  EXPECT_EQ(j["type"], "motion");
  EXPECT_EQ(j["start_ms"], 1'790'000'000'000);
  const auto s = hooks.stats();
  EXPECT_EQ(s[0].attempts, 2u);
  EXPECT_EQ(s[0].failed_attempts, 1u);
  EXPECT_EQ(s[1].attempts, 0u);  // not its type
  // The second target takes tamper events, unsigned.
  hooks.notify(notice(EventNotice::Kind::kEnd, "tamper_covered"));
  ASSERT_TRUE(eventually([&] { return hooks.stats()[1].delivered == 1; }));
  ASSERT_TRUE(eventually([&] { return hooks.stats()[0].delivered == 2; }));
  bool unsigned_seen = false;
  for (const auto& x : ep.hits()) unsigned_seen |= !x.headers.count("x-vigil-signature");
  EXPECT_TRUE(unsigned_seen);
}

TEST(Webhook, AnEndpointThatIsDownIsRetriedThenDroppedAndCounted) {
  int port;
  {
    Endpoint gone({});
    port = gone.port();
  }  // closed: connections to it are refused
  WebhookNotifier hooks({target("http://127.0.0.1:" + std::to_string(port) + "/")});
  for (int i = 0; i < 3; ++i) hooks.notify(notice(EventNotice::Kind::kStart));
  ASSERT_TRUE(eventually([&] { return hooks.stats()[0].dropped_attempts == 3; }));
  const auto s = hooks.stats()[0];
  EXPECT_EQ(s.attempts, 9u);  // 3 messages x max_attempts
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.queued, 0u);
}

TEST(Webhook, AFullQueueDropsAndCountsWithoutBlocking) {
  // An endpoint that accepts the connection and never answers holds the sender in its timeout.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(fd, 8);
  WebhookTarget t = target("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/");
  t.queue_limit = 10;
  t.max_attempts = 1;
  t.timeout = milliseconds(300);
  {
    WebhookNotifier hooks({t});
    for (int i = 0; i < 25; ++i) hooks.notify(notice(EventNotice::Kind::kStart));
    const auto s = hooks.stats()[0];
    EXPECT_GE(s.dropped_full, 14u);  // one may already be in flight, outside the queue
    EXPECT_LE(s.queued, 10u);
    ASSERT_TRUE(eventually([&] { return hooks.stats()[0].attempts >= 1; }));
    EXPECT_EQ(hooks.stats()[0].delivered, 0u);  // timed out: no answer ever came
  }
  ::close(fd);
}

TEST(Webhook, AnHttpsEndpointWithAnUntrustedCertificateIsRefused) {
  // A real TLS server (openssl s_server) with a self-signed certificate: the handshake must fail
  // on verification, so a webhook never talks to an impostor.
  test::TempDir dir;
  const auto cert = dir.path() / "cert.pem";
  const auto key = dir.path() / "key.pem";
  ASSERT_EQ(test::run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                      "-keyout " +
                      key.string() + " -out " + cert.string() + " 2>/dev/null"),
            0);
  int port = 0;
  {
    Endpoint probe({});  // a free port, released again
    port = probe.port();
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string accept = "127.0.0.1:" + std::to_string(port);
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert",
             cert.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto port_open = [&] {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
  };
  ASSERT_TRUE(eventually(port_open));
  const HttpPostResult r = http_post("https://127.0.0.1:" + std::to_string(port) + "/hook", {},
                                     "{}", milliseconds(5000));
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("TLS"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("certificate verify failed"), std::string::npos) << r.error;
}

TEST(HttpUrl, Parses) {
  ParsedUrl u;
  ASSERT_TRUE(parse_http_url("https://hooks.example.com/a/b?c=d", u));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "hooks.example.com");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/a/b?c=d");
  ASSERT_TRUE(parse_http_url("http://[::1]:8080", u));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.target, "/");
  EXPECT_FALSE(parse_http_url("ftp://x/", u));
}

}  // namespace
}  // namespace vigil
