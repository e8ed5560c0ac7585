// Camera settings as admins edit them: the API's record/analysis/zones/schedules fields through
// the ConfigStore (validated like the file at start), masked URLs, the schedule-zone check, and
// the connection test (probe_source on real H.264 packets, failures, and the API route).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "app/analysis_tap.h"
#include "catalog/catalog.h"
#include "core/error.h"
#include "core/redact.h"
#include "serve/api.h"
#include "serve/camera_probe.h"
#include "serve/crypto.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

std::string parse_error(const std::string& text) {
  try {
    parse_config(text, "vigil.toml", "/tmp");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CameraSettings, ScheduleZoneMustNameAZoneOfTheCamera) {
  const std::string cam = "data_dir = \"d\"\n[[camera]]\nid = \"a\"\nurl = \"rtsp://h/s\"\n";
  const std::string zone = "[[camera.zone]]\nname = \"door\"\npoints = [[0, 0], [1, 0], [1, 1]]\n";
  const std::string mask = "[[camera.zone]]\nname = \"tree\"\nmask = true\n"
                           "points = [[0, 0], [1, 0], [1, 1]]\n";
  EXPECT_EQ(parse_error(cam + zone + mask + "[[camera.schedule]]\nzone = \"door\"\n"), "");
  EXPECT_EQ(parse_error(cam + "[[camera.schedule]]\nfrom = \"19:00\"\n"), "");
  EXPECT_EQ(parse_error(cam + zone + "[[camera.schedule]]\nzone = \"dor\"\n"),
            "vigil.toml: camera[0].schedule[0].zone = \"dor\": names no [[camera.zone]] of this "
            "camera (a mask cannot be scheduled)");
  EXPECT_NE(parse_error(cam + zone + mask + "[[camera.schedule]]\nzone = \"tree\"\n")
                .find("camera[0].schedule[0].zone = \"tree\": names no [[camera.zone]]"),
            std::string::npos);
  // Another camera's zone does not count.
  EXPECT_NE(parse_error(cam + zone + "[[camera]]\nid = \"b\"\nurl = \"rtsp://h/t\"\n"
                                     "[[camera.schedule]]\nzone = \"door\"\n")
                .find("camera[1].schedule[0].zone"),
            std::string::npos);
}

TEST(CameraSettings, MaskedUrlsGetTheStoredPassword) {
  const std::vector<std::string> stored = {"rtsp://admin:s3cret@10.0.0.5/main",
                                           "rtsp://viewer:other@10.0.0.5/sub"};
  EXPECT_EQ(unmask_url("rtsp://admin:***@10.0.0.5/main", stored), stored[0]);
  // The path may change; the user name picks the password.
  EXPECT_EQ(unmask_url("rtsp://admin:***@10.0.0.5/ch2", stored), "rtsp://admin:s3cret@10.0.0.5/ch2");
  EXPECT_EQ(unmask_url("rtsp://viewer:***@10.0.0.5/x", stored), "rtsp://viewer:other@10.0.0.5/x");
  EXPECT_EQ(unmask_url("rtsp://admin:***@10.0.0.5/main", {"rtsp://admin:s@CAM.lan:554/a"}),
            "rtsp://admin:***@10.0.0.5/main");
  EXPECT_EQ(unmask_url("rtsp://admin:***@cam.LAN:554/b", {"rtsp://admin:s@CAM.lan:554/a"}),
            "rtsp://admin:s@cam.LAN:554/b");
  // Another host, another port or another scheme never gets the stored password: it could be
  // a server of the attacker's that asks for Basic authentication.
  for (const char* elsewhere : {"rtsp://admin:***@10.0.0.6/main", "rtsp://admin:***@10.0.0.5:8554/main",
                                "rtsps://admin:***@10.0.0.5/main", "rtsp://admin:***@10.0.0.50/main"}) {
    EXPECT_EQ(unmask_url(elsewhere, stored), elsewhere);
    EXPECT_TRUE(has_masked_password(unmask_url(elsewhere, stored)));
  }
  EXPECT_EQ(unmask_url("rtsp://root:***@10.0.0.5/main", stored), "rtsp://root:***@10.0.0.5/main");
  EXPECT_TRUE(has_masked_password("rtsp://root:***@10.0.0.5/main"));
  EXPECT_EQ(unmask_url("rtsp://admin:new@10.0.0.5/main", stored), "rtsp://admin:new@10.0.0.5/main");
  EXPECT_FALSE(has_masked_password("rtsp://admin:new@10.0.0.5/main"));
  EXPECT_FALSE(has_masked_password("rtsp://10.0.0.5/main"));
}

// A source that replays a real H.264 clip (or fails the way it was told to).
class ClipSource final : public MediaSource {
 public:
  enum class Mode { kClip, kUnauthorized, kSilent, kNotSupported, kFails };
  explicit ClipSource(Mode mode) : mode_(mode) {}
  // Fails to open with this error.
  explicit ClipSource(Error error) : mode_(Mode::kFails), error_(std::move(error)) {}
  std::shared_ptr<const StreamInfo> open() override {
    switch (mode_) {
      case Mode::kFails:
        throw *error_;
      case Mode::kUnauthorized:
        throw Error(ErrorCode::kUnauthenticated,
                    "open rtsp://u:***@h/s: unauthorized (401): check the user name and password");
      case Mode::kNotSupported:
        throw Error(ErrorCode::kInvalidArgument,
                    "video codec mjpeg is not supported (vigil records H.264 and H.265)");
      case Mode::kSilent: {
        // Like a camera that accepted the connection and then says nothing: only interrupt()
        // ends the wait.
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return interrupted_; });
        throw Error(ErrorCode::kUnavailable, "stopped");
      }
      case Mode::kClip:
        break;
    }
    return test::test_clip().info;
  }
  bool read(AVPacket* pkt, TrackKind& track) override {
    return test::read_test_clip(next_, pkt, track);
  }
  void interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  Mode mode_;
  std::optional<Error> error_;
  size_t next_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

TEST(CameraSettings, ProbeDecodesTheFirstKeyframe) {
  test::FakeClock clock(kT0);
  ClipSource src(ClipSource::Mode::kClip);
  const ProbeResult r = probe_source(src, std::chrono::seconds(10), clock);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.codec, "h264");
  EXPECT_EQ(r.width, test::test_clip().info->video->width);
  EXPECT_EQ(r.height, test::test_clip().info->video->height);
  ASSERT_GT(r.jpeg.size(), 100u);
  EXPECT_EQ(static_cast<unsigned char>(r.jpeg[0]), 0xFF);  // JPEG SOI marker
  EXPECT_EQ(static_cast<unsigned char>(r.jpeg[1]), 0xD8);
  ASSERT_TRUE(r.fps.has_value());
  EXPECT_NEAR(*r.fps, 10.0, 0.01);  // the clip is made at 10 fps
  const json j = r.to_json();
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["snapshot"].get<std::string>().substr(0, 4), "/9j/");  // base64 of FF D8 FF
}

TEST(CameraSettings, ProbeFailuresSayWhy) {
  test::FakeClock clock(kT0);
  {
    ClipSource src(ClipSource::Mode::kUnauthorized);
    const ProbeResult r = probe_source(src, std::chrono::seconds(10), clock);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "unauthorized");
    EXPECT_NE(r.error.find("401"), std::string::npos);
    EXPECT_EQ(r.to_json()["ok"], false);
    EXPECT_FALSE(r.to_json().contains("snapshot"));
  }
  {
    ClipSource src(ClipSource::Mode::kNotSupported);
    EXPECT_EQ(probe_source(src, std::chrono::seconds(10), clock).reason, "unsupported");
  }
  {
    ClipSource src(ClipSource::Mode::kSilent);
    const ProbeResult r = probe_source(src, std::chrono::milliseconds(200), clock);
    EXPECT_EQ(r.reason, "timeout");
    EXPECT_NE(r.error.find("no picture within"), std::string::npos) << r.error;
  }
  {
    ClipSource src(ClipSource::Mode::kSilent);
    ProbeCancel cancel;
    std::thread t([&] { cancel.cancel(); });
    const ProbeResult r = probe_source(src, std::chrono::seconds(60), clock, &cancel);
    t.join();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "the test was cancelled");
  }
}

// The reason comes from what the source says, not from the URL it names: a port or path holding
// "401" or "404" (the test camera's free port was 34015 once, and a refused connection showed as
// a wrong password).
TEST(CameraSettings, ProbeReasonIsNotReadFromTheUrl) {
  test::FakeClock clock(kT0);
  const std::pair<Error, const char*> cases[] = {
      {Error(ErrorCode::kUnavailable,
             "open rtsp://127.0.0.1:34015/gone: connection refused: nothing listens on that "
             "address and port"),
       "refused"},
      {Error(ErrorCode::kUnavailable,
             "open rtsp://cam:***@10.0.0.5:40404/main: host unreachable"),
       "unreachable"},
      {Error(ErrorCode::kUnavailable,
             "open rtsps://10.0.0.5/refused/401: not found (404): check the stream path"),
       "not_found"},
      {Error(ErrorCode::kUnavailable, "open rtsp://10.0.0.5/timeout: no answer for 5.0 s"),
       "timeout"},
      {Error(ErrorCode::kUnavailable, "open rtsp://10.0.0.5/404/unreachable: stopped"), "failed"},
  };
  for (const auto& [error, reason] : cases) {
    ClipSource src(error);
    const ProbeResult r = probe_source(src, std::chrono::seconds(10), clock);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, reason) << error.what();
    EXPECT_EQ(r.error, error.what());
  }
}

// What a sink saw, in order.
class RecordingSink final : public PacketSink {
 public:
  void on_stream_start(std::shared_ptr<const StreamInfo>, WallTime) override { seen += "S"; }
  void on_packet(const MediaPacket&) override { seen += "p"; }
  void on_stream_end(const std::string&, WallTime) override { seen += "E"; }
  std::string seen;
};

TEST(CameraSettings, AnalysisTapHandsTheRunningStreamToANewAnalyzer) {
  AnalysisTap tap;
  RecordingSink first, second;
  auto info = std::make_shared<const StreamInfo>();
  PacketPtr pkt = make_packet();
  const MediaPacket p{pkt.get(), TrackKind::kVideo, kT0};
  tap.on_packet(p);  // nobody attached: dropped
  tap.attach(&first, kT0);
  EXPECT_EQ(first.seen, "");  // no stream yet: nothing to replay
  tap.on_stream_start(info, kT0);
  tap.on_packet(p);
  // Replaced mid-stream: the new one starts as after a connect, the old one hears nothing more.
  tap.attach(&second, kT0);
  tap.on_packet(p);
  tap.on_stream_end("camera gone", kT0);
  EXPECT_EQ(first.seen, "Sp");
  EXPECT_EQ(second.seen, "SpE");
  // Between connections there is no stream to replay.
  RecordingSink third;
  tap.attach(&third, kT0);
  EXPECT_EQ(third.seen, "");
  tap.attach(nullptr, kT0);
  tap.on_stream_start(info, kT0);
  EXPECT_EQ(third.seen, "");
}

class CameraSettingsApi : public ::testing::Test {
 protected:
  CameraSettingsApi()
      : file_(test::write_two_camera_config(dir_.path())),
        config_(file_),
        catalog_(dir_.path() / "vigil.db"),
        accounts_(dir_.path() / "vigil.db"),
        clock_(kT0),
        api_(config_, accounts_, clock_, [] { return json{{"cameras", json::array()}}; }) {
    for (auto [name, role] : {std::pair{"boss", Role::kAdmin}, std::pair{"op", Role::kOperator}}) {
      User u;
      u.name = name;
      u.role = role;
      u.password_hash = hash_password(std::string("password-") + name);
      u.created = kT0;
      accounts_.add_user(u);
    }
    admin_ = login("boss");
    op_ = login("op");
  }

  http::Response call(const std::string& method, const std::string& target, const json& body,
                      const std::map<std::string, std::string>& who) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body.is_null() ? "" : body.dump();
    r.remote_address = "192.0.2.9";
    r.headers = who;
    if (!r.body.empty()) r.headers["content-type"] = "application/json";
    return api_.handle(r);
  }

  std::map<std::string, std::string> login(const std::string& name) {
    auto r = call("POST", "/api/login", json{{"name", name}, {"password", "password-" + name}}, {});
    EXPECT_EQ(r.status, 200) << r.body;
    std::string cookie;
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
    }
    return {{"cookie", cookie}, {"x-csrf-token", json::parse(r.body)["csrf_token"]}};
  }

  // The body of a streamed answer, as the server would send it.
  static std::string read_stream(const http::Response& r) {
    EXPECT_TRUE(r.stream);
    std::string body;
    for (;;) {
      std::promise<http::BodyStream::Chunks> got;
      r.stream->pull([&](http::BodyStream::Chunks c) { got.set_value(std::move(c)); });
      const auto chunks = got.get_future().get();
      if (chunks.empty()) break;
      for (const auto& c : chunks) body += *c;
    }
    r.stream->close();
    return body;
  }

  test::TempDir dir_;
  std::filesystem::path file_;
  ConfigStore config_;
  Catalog catalog_;
  AccountStore accounts_;
  test::FakeClock clock_;
  Api api_;
  std::map<std::string, std::string> admin_, op_;
};

TEST_F(CameraSettingsApi, AnalysisZonesSchedulesAndRecordingModeRoundTrip) {
  const json zones = json::array(
      {{{"name", "door"}, {"points", {{0.5, 0}, {1, 0}, {1, 1}, {0.5, 1}}}},
       {{"name", "tree"}, {"points", {{0, 0}, {0.25, 0}, {0.25, 0.5}}}, {"mask", true}}});
  const json schedules = json::array(
      {{{"zone", "door"}, {"types", json::array({"motion"})}, {"days", json::array({"mon", "fri"})},
        {"from", "19:00"}, {"to", "07:00"}},
       {{"zone", nullptr}, {"days", json::array({"sat", "sun"})}}});
  auto r = call("PATCH", "/api/cameras/front",
                {{"record", "events"},
                 {"analysis", {{"enabled", true}, {"sensitivity", 75}, {"min_area", 0.01}}},
                 {"zones", zones},
                 {"schedules", schedules}},
                admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  const CameraConfig* c = config_.current()->find_camera("front");
  EXPECT_EQ(c->record, RecordMode::kEvents);
  EXPECT_TRUE(c->analysis.enabled);
  EXPECT_EQ(c->analysis.sensitivity, 75);
  EXPECT_DOUBLE_EQ(c->analysis.min_area, 0.01);
  ASSERT_EQ(c->analysis.zones.size(), 2u);
  EXPECT_EQ(c->analysis.zones[1].name, "tree");
  EXPECT_TRUE(c->analysis.zones[1].mask);
  EXPECT_FLOAT_EQ(c->analysis.zones[0].points[2].first, 1.0f);
  ASSERT_EQ(c->schedule.size(), 2u);
  EXPECT_EQ(c->schedule[0].zone, "door");
  EXPECT_EQ(c->schedule[0].days, 0x11);
  EXPECT_EQ(c->schedule[1].zone, "");
  // The file holds the same, as [[camera.zone]] / [[camera.schedule]] tables.
  const Config reread = load_config(file_);
  EXPECT_EQ(reread.find_camera("front")->analysis.zones.size(), 2u);
  EXPECT_EQ(reread.find_camera("front")->schedule.size(), 2u);

  r = call("GET", "/api/cameras/front", nullptr, admin_);
  const json got = json::parse(r.body);
  EXPECT_EQ(got["record"], "events");
  EXPECT_EQ(got["analysis"]["sensitivity"], 75);
  EXPECT_EQ(got["analysis"]["tamper"], true);  // the default, reported
  EXPECT_EQ(got["zones"][0]["name"], "door");
  EXPECT_DOUBLE_EQ(got["zones"][0]["points"][0][0].get<double>(), 0.5);
  EXPECT_EQ(got["zones"][1]["mask"], true);
  EXPECT_EQ(got["schedules"][0],
            (json{{"zone", "door"}, {"types", json::array({"motion"})},
                  {"days", json::array({"mon", "fri"})}, {"from", "19:00"}, {"to", "07:00"}}));
  EXPECT_EQ(got["schedules"][1]["zone"], nullptr);
  EXPECT_EQ(got["schedules"][1]["from"], "00:00");
  EXPECT_EQ(got["schedules"][1]["to"], "24:00");
  // Operators see none of it.
  r = call("GET", "/api/cameras/front", nullptr, op_);
  EXPECT_FALSE(json::parse(r.body).contains("zones"));

  // analysis merges key by key; zones and schedules are replaced as a whole.
  r = call("PATCH", "/api/cameras/front",
           {{"analysis", json{{"tamper", false}}},
            {"zones", json::array({zones[0]})},
            {"schedules", json::array()}},
           admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  c = config_.current()->find_camera("front");
  EXPECT_EQ(c->analysis.sensitivity, 75);
  EXPECT_FALSE(c->analysis.tamper);
  EXPECT_EQ(c->analysis.zones.size(), 1u);
  EXPECT_TRUE(c->schedule.empty());
  EXPECT_EQ(c->record, RecordMode::kEvents);

  // A new camera with all of it at once.
  r = call("POST", "/api/cameras",
           {{"id", "gate"}, {"url", "rtsp://192.0.2.7/s"}, {"zones", zones},
            {"schedules", json::array({schedules[0]})}, {"record", "continuous"}},
           admin_);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["zones"].size(), 2u);
}

TEST_F(CameraSettingsApi, WrongValuesAreRefusedWithTheMessageOfAStart) {
  const std::string before = config_.current()->find_camera("front")->name;
  auto expect_400 = [&](const json& body, const std::string& message) {
    auto r = call("PATCH", "/api/cameras/front", body, admin_);
    EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
    EXPECT_NE(json::parse(r.body)["detail"].get<std::string>().find(message), std::string::npos)
        << r.body;
  };
  expect_400({{"analysis", {{"sensitivity", 300}}}},
             "camera[0].analysis.sensitivity = 300: must be between 1 and 100");
  expect_400({{"analysis", {{"frames", 3}}}}, "camera[0].analysis.frames: unknown setting");
  expect_400({{"record", "sometimes"}}, "camera[0].record = \"sometimes\": must be");
  expect_400({{"zones", json::array({json{{"name", "door"}, {"points", {{0, 0}, {2, 0}, {1, 1}}}}})}},
             "camera[0].zone[0].points[1] = [...]: must be [x, y] with both between 0 and 1");
  expect_400({{"zones", json::array({json{{"name", "Door!"}, {"points", {{0, 0}, {1, 0}, {1, 1}}}}})}},
             "camera[0].zone[0].name = \"Door!\"");
  expect_400({{"schedules", json::array({json{{"zone", "nowhere"}}})}},
             "camera[0].schedule[0].zone = \"nowhere\": names no [[camera.zone]]");
  expect_400({{"schedules", json::array({json{{"days", json::array({"someday"})}}})}},
             "camera[0].schedule[0].days");
  expect_400({{"zones", "door"}}, "\"zones\" must be a list");
  expect_400({{"zone", json::array()}}, "zone");  // TOML names are not API fields
  // Nothing was written.
  EXPECT_TRUE(config_.current()->find_camera("front")->analysis.zones.empty());
  EXPECT_EQ(load_config(file_).find_camera("front")->name, before);
}

TEST_F(CameraSettingsApi, ConnectionTestIsForAdminsAndReportsARefusal) {
  // A port nothing listens on: bind one, note it, close it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  const std::string url = "rtsp://u:pw@127.0.0.1:" + std::to_string(port) + "/s";

  EXPECT_EQ(call("POST", "/api/cameras/probe", {{"url", url}}, op_).status, 403);
  auto no_csrf = admin_;
  no_csrf.erase("x-csrf-token");
  EXPECT_EQ(call("POST", "/api/cameras/probe", {{"url", url}}, no_csrf).status, 403);
  EXPECT_EQ(call("POST", "/api/cameras/probe", {{"url", "http://x/"}}, admin_).status, 400);
  EXPECT_EQ(call("POST", "/api/cameras/probe", {{"url", url}, {"transport", "smoke"}}, admin_)
                .status,
            400);
  EXPECT_EQ(call("POST", "/api/cameras/probe", {{"url", url}, {"camera", "ghost"}}, admin_).status,
            404);
  // A masked password without a stored one to stand for.
  EXPECT_EQ(call("POST", "/api/cameras/probe",
                 {{"url", "rtsp://nobody:***@127.0.0.1:" + std::to_string(port) + "/s"},
                  {"camera", "front"}},
                 admin_)
                .status,
            400);
  EXPECT_FALSE(api_.classify("POST", "/api/cameras/probe").slow);  // holds no handler thread

  auto r = call("POST", "/api/cameras/probe", {{"url", url}}, admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json result = json::parse(read_stream(r));
  EXPECT_EQ(result["ok"], false);
  EXPECT_EQ(result["reason"], "refused") << result;
  EXPECT_EQ(result["error"].get<std::string>().find("pw@"), std::string::npos) << result;

  // Audited, without the password.
  AuditFilter f;
  f.action = "camera_probe";
  const auto entries = accounts_.audit(f);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].detail, "url rtsp://u:***@127.0.0.1:" + std::to_string(port) + "/s");
}

}  // namespace
}  // namespace vigil
