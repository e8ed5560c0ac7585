#include "core/config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace vigil {
namespace {

Config parse(const std::string& text) { return parse_config(text, "vigil.toml", "/etc/vigil"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

TEST(Config, ParsesCamerasRetentionAndDefaults) {
  const Config c = parse(R"(
data_dir = "data"
segment_seconds = 60
min_free_space = "2GiB"
[retention]
max_days = 30
[[camera]]
id = "front-door"
name = "Front door"
url = "rtsp://admin:pw@10.0.0.5/Streaming/Channels/101"
sub_url = "rtsp://admin:pw@10.0.0.5/Streaming/Channels/102"
transport = "udp"
retention = { max_bytes = "500MB" }
[[camera]]
id = "yard"
url = "rtsp://10.0.0.6/stream"
enabled = false
)");
  EXPECT_EQ(c.data_dir, "/etc/vigil/data");
  EXPECT_EQ(c.segment_duration, std::chrono::seconds(60));
  EXPECT_EQ(c.min_free_bytes, 2ull << 30);
  ASSERT_EQ(c.cameras.size(), 2u);
  EXPECT_EQ(c.cameras[0].name, "Front door");
  EXPECT_EQ(c.cameras[0].transport, RtspTransport::kUdp);
  EXPECT_EQ(c.cameras[0].retention.max_bytes, 500'000'000u);
  EXPECT_EQ(c.cameras[0].retention.max_days, 30);  // inherited from [retention]
  EXPECT_EQ(c.cameras[1].name, "yard");             // defaults to the id
  EXPECT_FALSE(c.cameras[1].enabled);
  EXPECT_EQ(c.cameras[1].transport, RtspTransport::kTcp);
  EXPECT_FALSE(c.cameras[1].retention.max_bytes.has_value());
  EXPECT_EQ(c.find_camera("yard"), &c.cameras[1]);
}

// record_sub records the sub stream too, with its own limits; what they leave unset is the
// camera's (docs/config.md, "Cameras").
TEST(Config, RecordSubWithItsOwnRetention) {
  const Config c = parse(R"(
data_dir = "data"
[retention]
max_days = 14
[[camera]]
id = "door"
url = "rtsp://10.0.0.5/main"
sub_url = "rtsp://10.0.0.5/sub"
record_sub = true
sub_retention = { max_days = 60 }
retention = { max_bytes = "1GB" }
[[camera]]
id = "yard"
url = "rtsp://10.0.0.6/main"
sub_url = "rtsp://10.0.0.6/sub"
)");
  EXPECT_TRUE(c.cameras[0].record_sub);
  EXPECT_EQ(c.cameras[0].sub_retention.max_days, 60);
  EXPECT_EQ(c.cameras[0].sub_retention.max_bytes, 1'000'000'000u);  // the camera's
  EXPECT_EQ(c.cameras[0].retention.max_days, 14);
  EXPECT_FALSE(c.cameras[1].record_sub);
  EXPECT_EQ(sub_stream_id("door"), "door.sub");
  EXPECT_EQ(camera_of_stream("door.sub"), "door");
  EXPECT_EQ(camera_of_stream("door"), "door");
  EXPECT_EQ(camera_of_stream(".sub"), ".sub");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\n"
                     "record_sub = true\n"),
            "vigil.toml: camera[0].record_sub = true: needs a sub_url (the sub stream to record)");
}

// A mistyped secret key is named, its value never shown (it would reach logs and API errors).
TEST(Config, AnUnknownKeyIsNamedWithoutItsValue) {
  const std::string error = error_of(
      "data_dir = \"d\"\n[mqtt]\nhost = \"b\"\npasword = \"hunter2-secret\"\n");
  EXPECT_EQ(error, "vigil.toml: mqtt.pasword: unknown setting");
  EXPECT_EQ(error.find("hunter2"), std::string::npos);
}

TEST(Config, CameraAuthIsDigestUnlessBasicIsAskedFor) {
  const std::string cam = "data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://h/x\"\n";
  EXPECT_EQ(parse(cam).cameras[0].auth, RtspAuth::kDigest);
  EXPECT_EQ(parse(cam + "auth = \"basic\"\n").cameras[0].auth,
            RtspAuth::kBasic);
  EXPECT_EQ(error_of(cam + "auth = \"none\"\n"),
            "vigil.toml: camera[0].auth = \"none\": must be \"digest\" or \"basic\"");
}

TEST(Config, ErrorsNameFileKeyValueAndReason) {
  EXPECT_EQ(error_of("data_dir = \"d\"\nsegment_seconds = 5\n"),
            "vigil.toml: segment_seconds = 5: must be between 10 and 3600");
  EXPECT_EQ(error_of("data_dir = \"d\"\nmax_dayz = 5\n"), "vigil.toml: max_dayz: unknown setting");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[[camera]]\nid = \"Bad Id\"\nurl = \"rtsp://x\"\n"),
            "vigil.toml: camera[0].id = \"Bad Id\": must be 1-32 characters of a-z, 0-9, '_' or "
            "'-', starting with a letter or digit");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\ntransport = "
                     "\"sctp\"\n"),
            "vigil.toml: camera[0].transport = \"sctp\": must be \"tcp\" or \"udp\"");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\n[[camera]]\nid = "
                     "\"a\"\nurl = \"rtsp://y\"\n"),
            "vigil.toml: camera[1].id = \"a\": is used twice");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[retention]\nmax_bytes = \"lots\"\n"),
            "vigil.toml: retention.max_bytes = \"lots\": must be a size such as 500MiB, 20GB or a "
            "byte count");
  EXPECT_EQ(error_of("segment_seconds = 60\n"),
            "vigil.toml: data_dir = (missing): set the folder where footage is kept");
  EXPECT_NE(error_of("data_dir = \n").find("vigil.toml:1:"), std::string::npos);
}

TEST(Config, NeverEchoesAPassword) {
  const std::string e =
      error_of("data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"http://admin:hunter2@cam/\"\n");
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_NE(e.find("admin:***@cam"), std::string::npos) << e;
}

TEST(Config, HttpDefaultsAndSettings) {
  const Config d = parse("data_dir = \"d\"\n");
  EXPECT_TRUE(d.http.enabled);
  EXPECT_EQ(d.http.address, "127.0.0.1");
  EXPECT_EQ(d.http.port, 8080);
  EXPECT_EQ(d.http.header_limit, 16u * 1024);
  EXPECT_EQ(d.http.body_limit, 1024u * 1024);
  EXPECT_TRUE(d.http.tls_cert.empty());

  const Config c = parse(R"(
data_dir = "d"
[http]
address = "0.0.0.0"
port = 8443
tls_cert = "cert.pem"
tls_key = "/etc/ssl/key.pem"
threads = 4
max_connections = 100
header_limit = "8KiB"
body_limit = "2MiB"
read_timeout_ms = 5000
idle_timeout_ms = 30000
session_hours = 12
)");
  EXPECT_EQ(c.http.address, "0.0.0.0");
  EXPECT_EQ(c.http.port, 8443);
  EXPECT_EQ(c.http.tls_cert, std::filesystem::path("/etc/vigil/cert.pem"));
  EXPECT_EQ(c.http.tls_key, std::filesystem::path("/etc/ssl/key.pem"));
  EXPECT_EQ(c.http.threads, 4);
  EXPECT_EQ(c.http.max_connections, 100);
  EXPECT_EQ(c.http.header_limit, 8u * 1024);
  EXPECT_EQ(c.http.body_limit, 2u * 1024 * 1024);
  EXPECT_EQ(c.http.read_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.http.idle_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(c.http.session_lifetime, std::chrono::hours(12));
  EXPECT_EQ(parse("data_dir = \"d\"\n[http]\naddress = \"::\"\n").http.address, "::");
}

TEST(Config, HttpErrorsNameKeyValueAndReason) {
  EXPECT_EQ(error_of("data_dir = \"d\"\n[http]\nprot = 80\n"),
            "vigil.toml: http.prot: unknown setting");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[http]\nport = 70000\n"),
            "vigil.toml: http.port = 70000: must be between 0 and 65535");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[http]\naddress = \"example.com\"\n"),
            "vigil.toml: http.address = \"example.com\": must be an IPv4 or IPv6 address such as "
            "\"0.0.0.0\", \"127.0.0.1\" or \"::\"");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[http]\ntls_cert = \"c.pem\"\n"),
            "vigil.toml: http.tls_key = (missing): tls_cert and tls_key must be set together");
  EXPECT_EQ(error_of("data_dir = \"d\"\n[http]\nheader_limit = 10\n"),
            "vigil.toml: http.header_limit = 10: must be between 1KiB and 1MiB");
  EXPECT_EQ(error_of("data_dir = \"d\"\nhttp = 3\n"),
            "vigil.toml: http = 3: must be a table");
}

TEST(Config, ArchiveIsOffUnlessAStoreIsNamed) {
  EXPECT_FALSE(parse("data_dir = \"d\"\n").archive.enabled());
  const Config c = parse(
      "data_dir = \"d\"\n[archive]\nurl = \"s3://cctv-archive/site-a\"\n"
      "endpoint = \"https://s3.eu-central-1.amazonaws.com\"\nregion = \"eu-central-1\"\n"
      "access_key_id = \"AKIA\"\nsecret_access_key = \"s3cr3t\"\nafter_days = 0.5\n"
      "part_size = \"64MiB\"\n");
  ASSERT_TRUE(c.archive.enabled());
  EXPECT_EQ(c.archive.bucket, "cctv-archive");
  EXPECT_EQ(c.archive.prefix, "site-a/");
  EXPECT_EQ(c.archive.region, "eu-central-1");
  EXPECT_EQ(c.archive.after, std::chrono::hours(12));
  EXPECT_EQ(c.archive.part_size, 64u << 20);
  EXPECT_TRUE(c.archive.etag_is_md5);
  EXPECT_EQ(parse("data_dir = \"d\"\n[archive]\nurl = \"s3://b1b\"\nendpoint = \"http://127.0.0.1:9000\"\n"
                  "access_key_id = \"a\"\nsecret_access_key = \"s\"\nafter_days = 30\n")
                .archive.prefix,
            "");
  const std::string base =
      "data_dir = \"d\"\n[archive]\naccess_key_id = \"a\"\nsecret_access_key = \"pass-word\"\n";
  EXPECT_EQ(error_of(base + "url = \"https://b/x\"\nendpoint = \"http://h\"\n"),
            "vigil.toml: archive.url = \"https://b/x\": must be s3://bucket or s3://bucket/prefix "
            "(a bucket name: 3-63 characters of a-z 0-9 . -)");
  const std::string creds = error_of(base + "url = \"s3://bkt\"\nendpoint = \"http://k:v@h\"\n");
  EXPECT_NE(creds.find("without credentials"), std::string::npos) << creds;
  EXPECT_EQ(creds.find("k:v"), std::string::npos) << creds;
  EXPECT_EQ(error_of(base + "url = \"s3://bkt\"\nendpoint = \"http://h\"\nafter_days = -1\n"),
            "vigil.toml: archive.after_days = -1: must be a number of days, 0-36500");
  EXPECT_EQ(error_of(base + "url = \"s3://bkt\"\nendpoint = \"http://h\"\npart_size = \"1MiB\"\n"),
            "vigil.toml: archive.part_size = 1048576: must be between 5MiB and 5GiB (S3's limits)");
  const std::string no_secret = error_of(
      "data_dir = \"d\"\n[archive]\nurl = \"s3://bkt\"\nendpoint = \"http://h\"\naccess_key_id = \"a\"\n");
  EXPECT_NE(no_secret.find("secret_access_key"), std::string::npos) << no_secret;
  for (const std::string& e : {creds, no_secret}) {
    EXPECT_EQ(e.find("pass-word"), std::string::npos) << e;
  }
}

TEST(Config, TheCatalogIsVigilDbUnlessAPostgresqlUrlIsNamed) {
  const Config file = parse("data_dir = \"d\"\n");
  EXPECT_TRUE(file.catalog_is_file());
  EXPECT_EQ(file.catalog_location(), "/etc/vigil/d/vigil.db");
  const std::string url = "postgresql://vigil:pa55@db.lan/vigil?sslmode=verify-full";
  const Config pg = parse("data_dir = \"d\"\n[catalog]\nurl = \"" + url + "\"\n");
  EXPECT_FALSE(pg.catalog_is_file());
  EXPECT_EQ(pg.catalog_location(), url);
  EXPECT_FALSE(parse("data_dir = \"d\"\n[catalog]\nurl = \"postgres://h/x\"\n").catalog_is_file());
  const std::string wrong =
      error_of("data_dir = \"d\"\n[catalog]\nurl = \"mysql://u:pa55@h/x?password=pa55\"\n");
  EXPECT_EQ(wrong,
            "vigil.toml: catalog.url = \"mysql://u:***@h/x\": must be a postgresql:// URL (leave "
            "[catalog] out for vigil.db in data_dir)");
  EXPECT_NE(error_of("data_dir = \"d\"\n[catalog]\nhost = \"db\"\n").find("catalog.host"),
            std::string::npos);
  EXPECT_EQ(wrong.find("pa55"), std::string::npos) << wrong;
}

TEST(Config, ByteSizes) {
  EXPECT_EQ(parse_byte_size("1024"), 1024u);
  EXPECT_EQ(parse_byte_size("10GiB"), 10ull << 30);
  EXPECT_EQ(parse_byte_size("1.5 MB"), 1'500'000u);
  EXPECT_EQ(parse_byte_size("2k"), 2000u);
  EXPECT_FALSE(parse_byte_size("5iB"));
  EXPECT_FALSE(parse_byte_size("-1"));
  EXPECT_FALSE(parse_byte_size("GB"));
}

// ---- Events settings: [events], [mqtt], [[webhook]], [[camera.schedule]] ----

TEST(Config, EventsDefaultsWhenNothingIsSet) {
  const Config c = parse("data_dir = \"d\"\n");
  EXPECT_EQ(c.events.min_duration, std::chrono::milliseconds(1000));
  EXPECT_EQ(c.events.merge_gap, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.events.pre_roll, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.events.time_zone, "");
  EXPECT_TRUE(c.mqtt.host.empty());
  EXPECT_TRUE(c.webhooks.empty());
  EXPECT_EQ(parse("data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://h/s\"\n")
                .cameras[0]
                .record,
            RecordMode::kContinuous);
}

TEST(Config, EventsMqttWebhooksAndSchedules) {
  const Config c = parse(R"(
data_dir = "d"
[events]
min_duration_ms = 500
merge_gap_ms = 8000
pre_roll_ms = 3000
post_roll_ms = 7000
time_zone = "Europe/Berlin"
[mqtt]
host = "broker.lan"
port = 8883
prefix = "office/vigil"
client_id = "vigil-1"
username = "u"
password = "p"
discovery = false
retry_for_ms = 1000
[[webhook]]
url = "https://hooks.example.com/vigil?x=1"
secret = "s3cret"
types = ["motion", "tamper_covered"]
timeout_ms = 2000
[[webhook]]
url = "http://127.0.0.1:9000/"
[[camera]]
id = "archive"
url = "rtsp://10.0.0.9/s"
record = "events"
[[camera.zone]]
name = "shelves"
points = [[0, 0], [1, 0], [1, 1]]
[[camera.schedule]]
zone = "shelves"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "19:00"
to = "07:00"
[[camera.schedule]]
types = ["motion"]
days = ["sat", "sun"]
)");
  EXPECT_EQ(c.events.min_duration, std::chrono::milliseconds(500));
  EXPECT_EQ(c.events.merge_gap, std::chrono::milliseconds(8000));
  EXPECT_EQ(c.events.post_roll, std::chrono::milliseconds(7000));
  EXPECT_EQ(c.events.time_zone, "Europe/Berlin");
  EXPECT_EQ(c.mqtt.host, "broker.lan");
  EXPECT_EQ(c.mqtt.port, 8883);
  EXPECT_EQ(c.mqtt.prefix, "office/vigil");
  EXPECT_FALSE(c.mqtt.discovery);
  EXPECT_EQ(c.mqtt.retry_for, std::chrono::milliseconds(1000));
  ASSERT_EQ(c.webhooks.size(), 2u);
  EXPECT_EQ(c.webhooks[0].secret, "s3cret");
  EXPECT_EQ(c.webhooks[0].types, (std::vector<std::string>{"motion", "tamper_covered"}));
  EXPECT_EQ(c.webhooks[0].timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.webhooks[1].max_attempts, 5);
  EXPECT_EQ(c.cameras.at(0).record, RecordMode::kEvents);
  const auto& s = c.cameras.at(0).schedule;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].zone, "shelves");
  EXPECT_EQ(s[0].days, 0x1f);
  EXPECT_EQ(s[0].from, std::chrono::minutes(19 * 60));
  EXPECT_EQ(s[0].to, std::chrono::minutes(7 * 60));
  EXPECT_EQ(s[1].days, 0x60);
  EXPECT_EQ(s[1].from, std::chrono::minutes(0));
  EXPECT_EQ(s[1].to, std::chrono::minutes(24 * 60));
}

TEST(Config, EventsErrorsNameKeyValueAndReason) {
  const std::string cam = "data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://h/s\"\n";
  EXPECT_NE(error_of(cam + "[[camera.schedule]]\nfrom = \"25:00\"\n")
                .find("camera[0].schedule[0].from = \"25:00\": must be a time of day"),
            std::string::npos);
  EXPECT_NE(error_of(cam + "[[camera.schedule]]\ndays = [\"monday\"]\n")
                .find("camera[0].schedule[0].days = \"monday\": must be day names"),
            std::string::npos);
  EXPECT_NE(error_of(cam + "[[camera.schedule]]\nfrom = \"07:00\"\nto = \"07:00\"\n")
                .find("equals \"from\""),
            std::string::npos);
  EXPECT_NE(error_of(cam + "[[camera.schedule]]\ntypes = [\"person\"]\n")
                .find("camera[0].schedule[0].types = \"person\": must be one of motion"),
            std::string::npos);
  EXPECT_NE(error_of(cam + "record = \"motion\"\n")
                .find("camera[0].record = \"motion\": must be \"continuous\" or \"events\""),
            std::string::npos);
  EXPECT_NE(error_of(cam + "[[camera.schedule]]\nweekday = 1\n").find("unknown setting"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[events]\ntime_zone = \"Mars/Olympus\"\n")
                .find("events.time_zone = \"Mars/Olympus\": must be a time zone name"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[events]\ntime_zone = \"../../etc/passwd\"\n")
                .find("events.time_zone"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[events]\nmerge_gap_ms = -1\n")
                .find("events.merge_gap_ms = -1: must be between"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[mqtt]\nport = 1883\n").find("mqtt.host = (missing)"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[mqtt]\nhost = \"b\"\nprefix = \"a/#\"\n")
                .find("mqtt.prefix = \"a/#\""),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[[webhook]]\nurl = \"ftp://x/\"\n")
                .find("webhook[0].url = \"ftp://x/\": must be an http:// or https:// URL"),
            std::string::npos);
  EXPECT_NE(error_of("data_dir = \"d\"\n[[webhook]]\nurl = \"http://x/\"\nmax_attempts = 0\n")
                .find("webhook[0].max_attempts = 0"),
            std::string::npos);
}

// ---- end of events settings ----


// ---- Analysis settings: [camera.analysis] and [[camera.zone]] --------------------------------

TEST(Config, AnalysisSettingsAndZones) {
  const Config c = parse(R"(
data_dir = "d"
[[camera]]
id = "archive"
url = "rtsp://10.0.0.7/main"
[camera.analysis]
enabled = true
fps = 2.5
sensitivity = 80
min_area = 0.01
decode = "all"
tamper = false
signal_timeout_ms = 20000
[[camera.zone]]
name = "door"
points = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]
[[camera.zone]]
name = "clock"
points = [[0, 0], [0.1, 0], [0.1, 0.1]]
mask = true
[[camera]]
id = "yard"
url = "rtsp://10.0.0.6/stream"
)");
  ASSERT_EQ(c.cameras.size(), 2u);
  const AnalysisSettings& a = c.cameras[0].analysis;
  EXPECT_TRUE(a.enabled);
  EXPECT_DOUBLE_EQ(a.fps, 2.5);
  EXPECT_EQ(a.sensitivity, 80);
  EXPECT_DOUBLE_EQ(a.min_area, 0.01);
  EXPECT_EQ(a.decode, AnalysisDecode::kAll);
  EXPECT_FALSE(a.tamper);
  EXPECT_EQ(a.signal_timeout, std::chrono::seconds(20));
  ASSERT_EQ(a.zones.size(), 2u);
  EXPECT_EQ(a.zones[0].name, "door");
  EXPECT_FALSE(a.zones[0].mask);
  ASSERT_EQ(a.zones[0].points.size(), 4u);
  EXPECT_FLOAT_EQ(a.zones[0].points[1].first, 1.0f);
  EXPECT_TRUE(a.zones[1].mask);
  // The other camera keeps the defaults.
  const AnalysisSettings& d = c.cameras[1].analysis;
  EXPECT_FALSE(d.enabled);  // opt-in: a decoder per camera costs many times recording
  EXPECT_DOUBLE_EQ(d.fps, 5);
  EXPECT_EQ(d.sensitivity, 60);
  EXPECT_EQ(d.decode, AnalysisDecode::kAuto);
  EXPECT_TRUE(d.tamper);
  EXPECT_EQ(d.signal_timeout, std::chrono::seconds(10));
  EXPECT_TRUE(d.zones.empty());
}

TEST(Config, AnalysisErrorsNameTheKey) {
  const std::string cam = "data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://h/s\"\n";
  EXPECT_EQ(error_of(cam + "[camera.analysis]\nfps = 0\n"),
            "vigil.toml: camera[0].analysis.fps = 0: must be a number between 0.2 and 30");
  EXPECT_EQ(error_of(cam + "[camera.analysis]\nsensitivity = 101\n"),
            "vigil.toml: camera[0].analysis.sensitivity = 101: must be between 1 and 100");
  EXPECT_EQ(error_of(cam + "[camera.analysis]\ndecode = \"some\"\n"),
            "vigil.toml: camera[0].analysis.decode = \"some\": must be \"auto\", \"all\" or "
            "\"adaptive\"");
  EXPECT_EQ(error_of(cam + "[camera.analysis]\nmin_aera = 1\n"),
            "vigil.toml: camera[0].analysis.min_aera: unknown setting");
  EXPECT_EQ(error_of(cam + "[[camera.zone]]\nname = \"door\"\npoints = [[0, 0], [1, 0]]\n"),
            "vigil.toml: camera[0].zone[0].points = [...]: must list at least 3 points [x, y] in "
            "0..1, e.g. [[0, 0], [0.5, 0], [0.5, 1]]");
  EXPECT_EQ(error_of(cam + "[[camera.zone]]\nname = \"door\"\npoints = [[0, 0], [1.5, 0], [1, 1]]\n"),
            "vigil.toml: camera[0].zone[0].points[1] = [...]: must be [x, y] with both between 0 "
            "and 1 (fractions of width and height)");
  EXPECT_EQ(error_of(cam + "[[camera.zone]]\nname = \"Door\"\npoints = [[0, 0], [1, 0], [1, 1]]\n"),
            "vigil.toml: camera[0].zone[0].name = \"Door\": must be 1-32 characters of a-z, 0-9, "
            "'_' or '-', starting with a letter or digit");
  EXPECT_EQ(error_of(cam + "[[camera.zone]]\nname = \"a\"\npoints = [[0, 0], [1, 0], [1, 1]]\n" +
                     "[[camera.zone]]\nname = \"a\"\npoints = [[0, 0], [1, 0], [1, 1]]\n"),
            "vigil.toml: camera[0].zone[1].name = \"a\": is used twice");
}

}  // namespace
}  // namespace vigil
