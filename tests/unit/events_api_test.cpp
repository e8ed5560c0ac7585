// The events routes through Api::handle on a real catalog: search with filters and pages, camera
// rights, one event, its snapshot, and its clip (an audited export of the event plus pre/post
// roll).
#include <gtest/gtest.h>

#include <fstream>

#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "record/fragment_index.h"
#include "serve/api.h"
#include "serve/auth.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

Config events_config(const std::filesystem::path& dir) {
  Config c = test::two_camera_config(dir);
  c.events.pre_roll = seconds(5);
  c.events.post_roll = seconds(10);
  return c;
}

class EventsApiTest : public ::testing::Test {
 protected:
  EventsApiTest()
      : config_(events_config(dir_.path())),
        catalog_(dir_.path() / "vigil.db"),
        accounts_(dir_.path() / "vigil.db"),
        store_(dir_.path() / "vigil.db"),
        clock_(kT0 + std::chrono::hours(1)),
        api_(config_, accounts_, clock_, nullptr) {
    for (auto [name, role, cams] :
         {std::tuple{"ann", Role::kOperator, std::vector<std::string>{"*"}},
          std::tuple{"val", Role::kViewer, std::vector<std::string>{"yard"}}}) {
      User u;
      u.name = name;
      u.role = role;
      u.cameras = cams;
      u.password_hash = "x";
      u.created = kT0;
      accounts_.add_user(u);
      auth_[name] = Authenticator(accounts_, clock_, std::chrono::hours(1))
                        .create_token(*accounts_.user_by_name(name), "t", TokenScope::kFull, std::nullopt)
                        .token;
    }
  }

  int64_t add_event(const std::string& camera, const std::string& type, WallTime start,
                    std::vector<std::string> zones, bool with_snapshot) {
    EventRow e;
    e.camera_id = camera;
    e.type = type;
    e.start = start;
    e.end = start + seconds(4);
    e.zones = std::move(zones);
    e.peak_score = 0.6;
    e.peak_at = start + seconds(1);
    e.box = EventBox{0.1, 0.2, 0.3, 0.4};
    const int64_t id = store_.insert(e);
    if (with_snapshot) {
      const std::string rel = "snapshots/" + camera + "/" + std::to_string(id) + ".jpg";
      std::filesystem::create_directories((dir_.path() / rel).parent_path());
      std::ofstream(dir_.path() / rel, std::ios::binary) << "\xff\xd8jpeg" << id;
      store_.set_snapshot(id, rel);
    }
    store_.close(id, e.end, "ended");
    return id;
  }

  http::Response call(const std::string& method, const std::string& user,
                      const std::string& target) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.remote_address = "192.0.2.9";
    if (!user.empty()) r.headers["authorization"] = "Bearer " + auth_[user];
    return api_.handle(r);
  }
  http::Response get(const std::string& user, const std::string& target) {
    return call("GET", user, target);
  }

  static std::vector<int64_t> ids(const http::Response& r) {
    std::vector<int64_t> out;
    const json body = json::parse(r.body);  // named: a temporary would die before the loop
    for (const auto& e : body["events"]) out.push_back(e["id"].get<int64_t>());
    return out;
  }

  test::TempDir dir_;
  ConfigStore config_;
  Catalog catalog_;
  AccountStore accounts_;
  EventStore store_;
  test::FakeClock clock_;
  Api api_;
  std::map<std::string, std::string> auth_;
};

TEST_F(EventsApiTest, SearchFiltersPagesAndKeepsToTheCallersCameras) {
  const int64_t a = add_event("front", "motion", kT0, {"door"}, true);
  const int64_t b = add_event("yard", "motion", kT0 + seconds(60), {"archive", "gate"}, false);
  const int64_t c = add_event("yard", "tamper_covered", kT0 + seconds(120), {}, false);
  const int64_t d = add_event("front", "signal_lost", kT0 + seconds(180), {}, false);

  auto r = get("ann", "/api/events");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ids(r), (std::vector<int64_t>{d, c, b, a}));  // newest first
  const json first = json::parse(r.body)["events"][3];
  EXPECT_EQ(first["camera"], "front");
  EXPECT_EQ(first["zones"], json::array({"door"}));
  EXPECT_EQ(first["start_ms"], ms_since_epoch(kT0));
  EXPECT_EQ(first["end_ms"], ms_since_epoch(kT0 + seconds(4)));
  EXPECT_EQ(first["snapshot"], "/api/events/" + std::to_string(a) + "/snapshot.jpg");
  EXPECT_EQ(first["box"]["w"], 0.3);
  EXPECT_EQ(first["open"], false);
  EXPECT_EQ(first["close_reason"], "ended");

  EXPECT_EQ(ids(get("ann", "/api/events?camera=yard")), (std::vector<int64_t>{c, b}));
  EXPECT_EQ(ids(get("ann", "/api/events?type=motion")), (std::vector<int64_t>{b, a}));
  EXPECT_EQ(ids(get("ann", "/api/events?zone=gate")), (std::vector<int64_t>{b}));
  EXPECT_EQ(ids(get("ann", "/api/events?zone=gat")), (std::vector<int64_t>{}));
  // [from, to): overlapping events; a's end (t0+4 s) touches from = t0+4 s.
  const std::string window =
      "/api/events?from_ms=" + std::to_string(ms_since_epoch(kT0 + seconds(4))) +
      "&to_ms=" + std::to_string(ms_since_epoch(kT0 + seconds(120)));
  EXPECT_EQ(ids(get("ann", window)), (std::vector<int64_t>{b, a}));
  // Pages of two.
  auto p1 = get("ann", "/api/events?limit=2");
  EXPECT_EQ(ids(p1), (std::vector<int64_t>{d, c}));
  const int64_t next = json::parse(p1.body)["next_before_id"].get<int64_t>();
  auto p2 = get("ann", "/api/events?limit=2&before_id=" + std::to_string(next));
  EXPECT_EQ(ids(p2), (std::vector<int64_t>{b, a}));
  auto p3 = get("ann", "/api/events?limit=2&before_id=" + std::to_string(a));
  EXPECT_EQ(ids(p3), (std::vector<int64_t>{}));
  EXPECT_TRUE(json::parse(p3.body)["next_before_id"].is_null());

  // val sees yard only; asking for front is refused.
  EXPECT_EQ(ids(get("val", "/api/events")), (std::vector<int64_t>{c, b}));
  EXPECT_EQ(get("val", "/api/events?camera=front").status, 403);
  EXPECT_EQ(get("", "/api/events").status, 401);
  EXPECT_EQ(get("ann", "/api/events?type=person").status, 400);
  EXPECT_EQ(get("ann", "/api/events?limit=0").status, 400);
  EXPECT_EQ(get("ann", "/api/events?colour=red").status, 400);
}

TEST_F(EventsApiTest, OneEventAndItsSnapshot) {
  const int64_t a = add_event("front", "motion", kT0, {"door"}, true);
  const int64_t b = add_event("yard", "motion", kT0, {}, false);
  auto r = get("ann", "/api/events/" + std::to_string(a));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["type"], "motion");
  auto s = get("ann", "/api/events/" + std::to_string(a) + "/snapshot.jpg");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.content_type, "image/jpeg");
  EXPECT_EQ(s.body, "\xff\xd8jpeg" + std::to_string(a));
  EXPECT_EQ(get("ann", "/api/events/" + std::to_string(b) + "/snapshot.jpg").status, 404);
  EXPECT_EQ(get("val", "/api/events/" + std::to_string(a)).status, 403);
  EXPECT_EQ(get("val", "/api/events/" + std::to_string(a) + "/snapshot.jpg").status, 403);
  EXPECT_EQ(get("val", "/api/events/" + std::to_string(b)).status, 200);
  EXPECT_EQ(get("ann", "/api/events/99999").status, 404);
}

TEST_F(EventsApiTest, ClipIsAnAuditedExportOfTheEventWithPreAndPostRoll) {
  const int64_t a = add_event("front", "motion", kT0 + seconds(20), {}, false);
  // A closed segment covering the event, so there is footage to export.
  { std::ofstream(dir_.path() / "front.mp4", std::ios::binary) << std::string(70, 'x'); }
  NewSegment n{"front", "front.mp4", kT0, "h264", 640, 480, false};
  ClosedSegment c;
  c.init_bytes = 10;
  c.bytes = 70;
  c.fragment_index = encode_fragment_index({{10, 30, Ticks90k(0), Ticks90k(90000 * 30)},
                                            {40, 30, Ticks90k(90000 * 30), Ticks90k(90000 * 30)}});
  c.media_duration = Ticks90k(90000 * 60);
  c.wall_end = kT0 + seconds(60);
  catalog_.insert_closed_segment(n, c);

  EXPECT_EQ(call("POST", "val", "/api/events/" + std::to_string(a) + "/clip").status, 403);
  auto r = call("POST", "ann", "/api/events/" + std::to_string(a) + "/clip");
  ASSERT_EQ(r.status, 202) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["camera"], "front");
  EXPECT_EQ(j["start_ms"], ms_since_epoch(kT0 + seconds(15)));         // start - 5 s pre roll
  EXPECT_EQ(j["end_ms"], ms_since_epoch(kT0 + seconds(20 + 4 + 10)));  // end + 10 s post roll
  AuditFilter f;
  f.action = "export";
  const auto rows = accounts_.audit(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user_name, "ann");
  EXPECT_EQ(rows[0].camera_id, "front");
  EXPECT_NE(rows[0].detail.find("event " + std::to_string(a)), std::string::npos);
  EXPECT_EQ(call("POST", "ann", "/api/events/99999/clip").status, 404);
}

TEST_F(EventsApiTest, TheTimelineShowsTheCamerasEvents) {
  const int64_t a = add_event("front", "motion", kT0, {}, false);
  add_event("yard", "motion", kT0, {}, false);
  const int64_t c = add_event("front", "tamper_moved", kT0 + seconds(30), {}, false);
  add_event("front", "motion", kT0 + seconds(600), {}, false);  // outside the window
  auto r = get("ann", "/api/cameras/front/timeline?start=" + std::to_string(ms_since_epoch(kT0)) +
                          "&end=" + std::to_string(ms_since_epoch(kT0 + seconds(60))));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][0]["id"], a);  // oldest first
  EXPECT_EQ(j["events"][0]["start_ms"], ms_since_epoch(kT0));
  EXPECT_EQ(j["events"][0]["end_ms"], ms_since_epoch(kT0 + seconds(4)));
  EXPECT_EQ(j["events"][1]["id"], c);
  EXPECT_EQ(j["events"][1]["type"], "tamper_moved");
  EXPECT_EQ(j["events_truncated"], false);
}

}  // namespace
}  // namespace vigil
