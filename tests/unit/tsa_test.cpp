// RFC 3161 on the recording side: the requests vigil builds, answered by a real `openssl ts
// -reply` TSA, the checks before a token is kept, and the stamper's give-up path when the TSA
// is down (the path with a TSA that answers is in tests/integration/test_tsa.py).
#include "integrity/tsa.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "app/tsa_stamper.h"
#include "catalog/catalog.h"
#include "core/error.h"
#include "serve/metrics.h"
#include "integrity/verify.h"
#include "test_support.h"
#include "test_tsa.h"

namespace vigil {
namespace {

Bytes message_of(const std::string& camera, uint64_t sequence) {
  Checkpoint c;
  c.camera_id = camera;
  c.sequence = sequence;
  c.head.fill(0x11);
  c.wall_time = wall_from_ms(1'800'000'000'000);
  return checkpoint_message(c);
}

TEST(Tsa, RequestsAreAnsweredByOpensslAndTheTokenVerifiesLikeABundlesWould) {
  test::TempDir dir;
  test::Tsa tsa(dir.path() / "tsa");
  const Bytes message = message_of("front", 7);
  const TsaRequest req = make_tsa_request(message);
  EXPECT_EQ(req.nonce.size(), 8u);
  // openssl reads what we built: SHA-256 imprint of the message, a nonce, certReq.
  {
    std::ofstream(dir.path() / "q.tsq", std::ios::binary)
        .write(reinterpret_cast<const char*>(req.der.data()),
               static_cast<std::streamsize>(req.der.size()));
    const std::string text = dir.path().string() + "/q.txt";
    ASSERT_EQ(test::run("openssl ts -query -in " + dir.path().string() + "/q.tsq -text > " +
                        text + " 2>/dev/null"),
              0);
    std::ifstream in(text);
    const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(s.find("Hash Algorithm: sha256"), std::string::npos) << s;
    EXPECT_NE(s.find("Certificate required: yes"), std::string::npos) << s;
    EXPECT_EQ(s.find("Nonce: unspecified"), std::string::npos) << s;
  }
  const Bytes reply = tsa.reply(req.der);
  TsaReplyCheck c = check_tsa_reply(reply, req, std::nullopt);
  EXPECT_EQ(c.problem, "");
  ASSERT_TRUE(c.time.has_value());
  EXPECT_LT(std::abs(ms_since_epoch(*c.time) - ms_since_epoch(SystemClock().wall_now())), 5'000);
  c = check_tsa_reply(reply, req, tsa.ca());
  EXPECT_EQ(c.problem, "");
  // The kept token is what the bundle verifier checks, over the checkpoint's message.
  EXPECT_EQ(check_tsa_token(reply, message, tsa.ca()).problem, "");
}

TEST(Tsa, AnswersThatDoNotFitTheRequestAreRefused) {
  test::TempDir dir;
  test::Tsa tsa(dir.path() / "tsa");
  const TsaRequest req = make_tsa_request(message_of("front", 1));
  const Bytes reply = tsa.reply(req.der);

  // An answer to another request (another nonce and imprint): replayed or mixed up.
  const TsaRequest other = make_tsa_request(message_of("front", 2));
  EXPECT_NE(check_tsa_reply(reply, other, std::nullopt).problem.find("nonce"), std::string::npos);
  // The same nonce but another message: the imprint check catches it.
  TsaRequest same_nonce = other;
  same_nonce.nonce = req.nonce;
  EXPECT_NE(check_tsa_reply(reply, same_nonce, std::nullopt).problem.find("imprint"),
            std::string::npos);
  // Signed by a TSA another CA vouches for.
  test::Tsa stranger(dir.path() / "stranger");
  EXPECT_NE(check_tsa_reply(reply, req, stranger.ca()).problem.find("not signed by a TSA"),
            std::string::npos);
  // A flipped bit in the signed part.
  Bytes flipped = reply;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_NE(check_tsa_reply(flipped, req, tsa.ca()).problem, "");
  // Not granted: this TSA refuses SHA-512 imprints (PKIStatus rejection).
  const Bytes rejected = tsa.token(message_of("front", 1), "-sha512");
  EXPECT_NE(check_tsa_reply(rejected, req, std::nullopt).problem.find("did not grant"),
            std::string::npos);
  // Garbage, empty, truncated: a verdict, never a crash.
  EXPECT_NE(check_tsa_reply(Bytes{}, req, std::nullopt).problem, "");
  EXPECT_NE(check_tsa_reply(Bytes(reply.begin(), reply.begin() + 20), req, std::nullopt).problem,
            "");
  EXPECT_NE(check_tsa_reply(Bytes(100, 0x30), req, std::nullopt).problem, "");
}

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(TsaStamper, ATsaThatIsDownLeavesCheckpointsPendingThenUntimestamped) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  test::FakeClock clock(wall_from_ms(1'800'000'000'000));
  auto add = [&](uint64_t seq, WallTime at) {
    CheckpointRow row;
    row.checkpoint.camera_id = "front";
    row.checkpoint.sequence = seq;
    row.checkpoint.wall_time = at;
    row.key_fingerprint = "k";
    catalog.add_checkpoint(row);
  };
  // Before the stamper starts and older than its backlog (24 h): never requested.
  add(0, clock.wall_now() - std::chrono::hours(25));
  TsaSettings s;
  s.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/tsa";
  s.timeout = std::chrono::seconds(2);
  s.retry_for = std::chrono::seconds(60);
  s.batch_period = std::chrono::seconds(3600);  // the test drives the batches
  TsaStamper stamper(s, catalog, clock, nullptr);
  stamper.start();
  add(1, clock.wall_now());
  add(2, clock.wall_now());
  EXPECT_FALSE(stamper.run_batch());
  TsaStatus st = stamper.status();
  EXPECT_EQ(st.pending, 2);
  EXPECT_EQ(st.failed_requests, 1);  // one failed request stops the batch
  EXPECT_EQ(st.untimestamped, 0);
  EXPECT_NE(st.last_error.find("connect to 127.0.0.1"), std::string::npos) << st.last_error;
  EXPECT_EQ(st.url, s.url);

  clock.advance(std::chrono::seconds(61));
  add(3, clock.wall_now());  // recent: still retried
  EXPECT_FALSE(stamper.run_batch());
  st = stamper.status();
  EXPECT_EQ(st.untimestamped, 2);
  EXPECT_EQ(st.pending, 1);
  EXPECT_EQ(st.timestamped, 0);
  stamper.stop();
  for (const CheckpointRow& c : catalog.checkpoints("front")) EXPECT_FALSE(c.tsa_token);
}

TEST(TsaStamper, CheckpointsMadeBeforeItStartedAreRequestedWithinTheBacklog) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  test::FakeClock clock(wall_from_ms(1'800'000'000'000));
  uint64_t seq = 0;
  auto add = [&](std::chrono::minutes ago) {
    CheckpointRow row;
    row.checkpoint.camera_id = "front";
    row.checkpoint.sequence = seq++;
    row.checkpoint.wall_time = clock.wall_now() - ago;
    row.key_fingerprint = "k";
    catalog.add_checkpoint(row);
    return catalog.last_checkpoint_id();
  };
  using std::chrono::minutes;
  add(minutes(49 * 60));                 // older than the backlog's 48 h
  const int64_t beyond_max = add(minutes(47 * 60));  // in time, but not among the newest 4
  const int64_t first = add(minutes(46 * 60));
  const int64_t stamped = add(minutes(120));
  catalog.set_checkpoint_tsa_token(stamped, Bytes{1, 2, 3});  // has its token: not asked again
  add(minutes(60));
  add(minutes(1));
  TsaSettings s;
  s.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/tsa";
  s.timeout = std::chrono::seconds(2);
  s.retry_for = std::chrono::hours(24 * 7);  // nothing is given up: all stay pending
  s.batch_period = std::chrono::seconds(3600);
  s.backlog = std::chrono::hours(48);
  s.backlog_max = 4;
  EXPECT_EQ(catalog.checkpoint_backlog_start(clock.wall_now() - s.backlog, s.backlog_max),
            first - 1);
  EXPECT_LT(beyond_max, first);
  TsaStamper stamper(s, catalog, clock, nullptr);
  stamper.start();
  EXPECT_FALSE(stamper.run_batch());  // the TSA is down: the batch stops at its first request
  EXPECT_EQ(stamper.status().pending, 3);  // `first`, 60 min and 1 min ago
  EXPECT_EQ(stamper.status().failed_requests, 1);
  stamper.stop();

  // tsa_backlog_hours = 0: only what is made from the start on.
  s.backlog = std::chrono::hours(0);
  TsaStamper none(s, catalog, clock, nullptr);
  none.start();
  EXPECT_TRUE(none.run_batch());
  EXPECT_EQ(none.status().pending, 0);
  none.stop();
  // Nothing made in the window: the queue starts after the newest checkpoint.
  EXPECT_EQ(catalog.checkpoint_backlog_start(clock.wall_now(), 10),
            catalog.last_checkpoint_id());
}

TEST(TsaStamper, StatusBecomesMetrics) {
  const nlohmann::json status = {{"cameras", nlohmann::json::array()},
                                 {"tsa",
                                  {{"url", "http://127.0.0.1:9/tsa"},
                                   {"timestamped", 5},
                                   {"untimestamped", 2},
                                   {"pending", 1},
                                   {"failed_requests", 3}}}};
  const std::string m = prometheus_metrics(status, {});
  for (const char* line : {"vigil_tsa_tokens_total{url=\"http://127.0.0.1:9/tsa\"} 5\n",
                           "vigil_tsa_untimestamped_total{url=\"http://127.0.0.1:9/tsa\"} 2\n",
                           "vigil_tsa_pending{url=\"http://127.0.0.1:9/tsa\"} 1\n",
                           "vigil_tsa_failed_requests_total{url=\"http://127.0.0.1:9/tsa\"} 3\n"}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << m;
  }
  EXPECT_EQ(prometheus_metrics({{"cameras", nlohmann::json::array()}}, {}).find("vigil_tsa"),
            std::string::npos);
}

TEST(TsaConfig, SettingsAndClearErrors) {
  test::TempDir dir;
  const std::string base = "data_dir = \"" + dir.path().string() + "\"\n[integrity]\n";
  Config c = parse_config(base + "tsa_url = \"https://tsa.example/tsr\"\ntsa_batch_seconds = "
                                 "30\ntsa_retry_seconds = 120\ntsa_timeout_seconds = 5\n"
                                 "tsa_backlog_hours = 6\ntsa_backlog_max = 500\n",
                          "t.toml", dir.path());
  EXPECT_EQ(c.tsa.backlog, std::chrono::hours(6));
  EXPECT_EQ(c.tsa.backlog_max, 500);
  EXPECT_EQ(c.tsa.url, "https://tsa.example/tsr");
  EXPECT_EQ(c.tsa.batch_period, std::chrono::seconds(30));
  EXPECT_EQ(c.tsa.retry_for, std::chrono::seconds(120));
  EXPECT_EQ(c.tsa.timeout, std::chrono::seconds(5));
  EXPECT_TRUE(parse_config(base, "t.toml", dir.path()).tsa.url.empty());
  EXPECT_EQ(parse_config(base, "t.toml", dir.path()).tsa.backlog, std::chrono::hours(24));
  auto error = [&](const std::string& text) {
    try {
      parse_config(base + text, "t.toml", dir.path());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("tsa_url = \"tsa.example\"\n").find("integrity.tsa_url = \"tsa.example\": must "
                                                      "be an http:// or https:// URL"),
            std::string::npos);
  EXPECT_NE(error("tsa_url = \"http://t/\"\ntsa_ca = \"/nonexistent/ca.pem\"\n")
                .find("integrity.tsa_ca = \"/nonexistent/ca.pem\": cannot be read"),
            std::string::npos);
  std::ofstream(dir.path() / "ca.pem") << "a CA certificate\n";
  EXPECT_NE(error("tsa_ca = \"" + (dir.path() / "ca.pem").string() + "\"\n")
                .find("needs integrity.tsa_url"),
            std::string::npos);
  EXPECT_NE(error("tsa_url = \"http://t/\"\ntsa_batch_seconds = 0\n").find("tsa_batch_seconds"),
            std::string::npos);
  EXPECT_NE(error("tsa_url = \"http://t/\"\ntsa_backlog_max = 0\n").find("tsa_backlog_max"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil
