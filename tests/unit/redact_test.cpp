#include "core/redact.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "ingest/rtsp_url.h"

namespace vigil {
namespace {

TEST(Redact, MasksOnlyThePassword) {
  EXPECT_EQ(redact_url("rtsp://admin:s3cret@10.0.0.5:554/ch1?a=b"),
            "rtsp://admin:***@10.0.0.5:554/ch1?a=b");
  EXPECT_EQ(redact_url("rtsp://10.0.0.5/ch1"), "rtsp://10.0.0.5/ch1");
  EXPECT_EQ(redact_url("rtsp://user@10.0.0.5/ch1"), "rtsp://user@10.0.0.5/ch1");
  // An '@' in the path is not userinfo.
  EXPECT_EQ(redact_url("rtsp://10.0.0.5/a@b"), "rtsp://10.0.0.5/a@b");
  EXPECT_EQ(redact_url("rtsp://10.0.0.5:554/a@b/c"), "rtsp://10.0.0.5:554/a@b/c");
  EXPECT_EQ(redact_url("rtsp://[::1]:554/a:b@c/d"), "rtsp://[::1]:554/a:b@c/d");
  EXPECT_EQ(redact_url("rtsp://u:p@ss@host/x"), "rtsp://u:***@host/x");
  EXPECT_EQ(redact_url("rtsp://"), "rtsp://");
  EXPECT_EQ(redact_url("not a url: a:b@c"), "not a url: a:b@c");
}

TEST(Redact, InText) {
  EXPECT_EQ(redact_in_text("auth failed for s3cret and s3cret", "rtsp://a:s3cret@h/"),
            "auth failed for *** and ***");
  // A library may echo the password decoded.
  EXPECT_EQ(redact_in_text("user a pass pa#ss, pa%23ss", "rtsp://a:pa%23ss@h/"),
            "user a pass ***, ***");
  EXPECT_EQ(redact_all_urls("open rtsp://a:b@h/x and http://c:d@e:80/ failed"),
            "open rtsp://a:***@h/x and http://c:***@e:80/ failed");
  // Passwords with '@', '#', '/' inside a log line (FFmpeg's messages quote the URL).
  EXPECT_EQ(redact_all_urls("rtsp://admin:p@ss#1@127.0.0.1:554/s: Invalid argument"),
            "rtsp://admin:***@127.0.0.1:554/s: Invalid argument");
  EXPECT_EQ(redact_all_urls("[tcp] x=rtsp://admin:a/b@host/s end"),
            "[tcp] x=rtsp://admin:***@host/s end");
}

// The URL a user types, the password the RTSP client logs in with, and what every message
// shows: redaction and the client split the URL in the same place (core/redact.h), so the
// password used is the password masked.
TEST(UrlUserinfo, RtspClientAndRedactionAgree) {
  struct Case {
    const char* url;
    const char* user;
    const char* password;
    const char* host;
    uint16_t port;
    const char* redacted;
  };
  const Case cases[] = {
      {"rtsp://admin:pa#ss@10.0.0.5/Streaming/101", "admin", "pa#ss", "10.0.0.5", 554,
       "rtsp://admin:***@10.0.0.5/Streaming/101"},
      {"rtsp://admin:pa?ss@cam:8554/s?x=1", "admin", "pa?ss", "cam", 8554,
       "rtsp://admin:***@cam:8554/s?x=1"},
      {"rtsp://admin:p@ss@cam/s", "admin", "p@ss", "cam", 554, "rtsp://admin:***@cam/s"},
      {"rtsp://admin:a:b:c@cam/s", "admin", "a:b:c", "cam", 554, "rtsp://admin:***@cam/s"},
      {"rtsp://admin:#?@:x@cam:10554", "admin", "#?@:x", "cam", 10554,
       "rtsp://admin:***@cam:10554"},
      // Percent-encoded as RFC 3986 wants: decoded to log in, masked as written.
      {"rtsp://admin:pa%23s%2Fs%40@cam/s", "admin", "pa#s/s@", "cam", 554,
       "rtsp://admin:***@cam/s"},
      {"rtsp://ad%3Amin:x@[fe80::1]:554/s", "ad:min", "x", "fe80::1", 554,
       "rtsp://ad%3Amin:***@[fe80::1]:554/s"},
      // A raw '/' where "admin:a" cannot be a host:port.
      {"rtsp://admin:a/b@cam/s", "admin", "a/b", "cam", 554, "rtsp://admin:***@cam/s"},
      {"rtsp://admin:a/b@c@cam/s/t", "admin", "a/b@c", "cam", 554, "rtsp://admin:***@cam/s/t"},
      {"rtsp://admin:@cam/s", "admin", "", "cam", 554, "rtsp://admin:***@cam/s"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url);
    const RtspUrl u = parse_rtsp_url(c.url);
    EXPECT_TRUE(u.has_credentials);
    EXPECT_EQ(u.user, c.user);
    EXPECT_EQ(u.password, c.password);
    EXPECT_EQ(u.host, c.host);
    EXPECT_EQ(u.port, c.port);
    EXPECT_EQ(u.request_url.find(c.password[0] ? c.password : "@"), std::string::npos)
        << u.request_url;
    EXPECT_EQ(redact_url(c.url), c.redacted);
    EXPECT_TRUE(has_masked_password(c.redacted));
    // What a client sends back masked gets the stored password again.
    EXPECT_EQ(unmask_url(c.redacted, {c.url}), c.url);
  }
}

// FFmpeg (the client for UDP, rtsps:// and rtsp_client = "ffmpeg") ends the host at a raw '#'
// or '?' and decodes percent-encoded credentials: it gets them encoded, read vigil's way.
TEST(UrlUserinfo, FfmpegGetsTheCredentialsPercentEncoded) {
  EXPECT_EQ(with_encoded_userinfo("rtsp://admin:pa#ss@cam:554/s?x=1#y"),
            "rtsp://admin:pa%23ss@cam:554/s?x=1#y");
  EXPECT_EQ(with_encoded_userinfo("rtsps://ad min:p@s?s%2Fx%41@cam/s"),
            "rtsps://ad%20min:p%40s%3Fs%2FxA@cam/s");
  EXPECT_EQ(with_encoded_userinfo("rtsp://user@cam/s"), "rtsp://user@cam/s");
  EXPECT_EQ(with_encoded_userinfo("rtsp://cam/a@b"), "rtsp://cam/a@b");
  // What FFmpeg decodes is what the native client logs in with.
  const std::string url = "rtsp://admin:a:b#c?d@e@cam/s";
  const RtspUrl native = parse_rtsp_url(url);
  const RtspUrl encoded = parse_rtsp_url(with_encoded_userinfo(url));
  EXPECT_EQ(encoded.password, native.password);
  EXPECT_EQ(encoded.user, native.user);
  EXPECT_EQ(encoded.request_url, native.request_url);
}

TEST(UrlUserinfo, RefusedUrlsDoNotShowThePassword) {
  for (const char* url : {"rtsp://admin:pa#ss@:12/x", "rtsp://admin:pa#ss@cam:99999/x",
                          "rtsp://admin:pa#ss@[::1/x"}) {
    SCOPED_TRACE(url);
    try {
      parse_rtsp_url(url);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("pa#ss"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("admin:***@"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace vigil
