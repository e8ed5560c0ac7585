// Timeline merging, HLS playlist building and HTTP Range parsing (serve/timeline.h,
// serve/playlist.h), and the footage routes through Api::handle on a real catalog.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "catalog/catalog.h"
#include "serve/api.h"
#include "serve/crypto.h"
#include "serve/export.h"
#include "serve/playlist.h"
#include "serve/preview.h"
#include "serve/timeline.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

// Two files of 2 s fragments, the second starting after a 10 s gap: the keyframe nearest a
// moment is the start of the fragment nearest it, in either file, within the reach only.
TEST(Preview, NearestKeyframeIsTheNearestFragmentStart) {
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  auto file = [](int64_t id, WallTime start, int fragments) {
    PlaylistFile f{id, start, 800, {}};
    for (int i = 0; i < fragments; ++i) {
      Fragment g;
      g.offset = 800 + 1000 * static_cast<uint64_t>(i);
      g.size = 1000;
      g.start = Ticks90k(180'000 * i);
      g.duration = Ticks90k(180'000);
      f.fragments.push_back(g);
    }
    return f;
  };
  const std::vector<PlaylistFile> files = {file(1, t0, 5),
                                           file(2, t0 + std::chrono::seconds(20), 3)};
  const WallDuration reach = std::chrono::seconds(30);
  auto at = [&](int64_t ms) { return nearest_keyframe(files, t0 + WallDuration(ms), reach); };
  EXPECT_EQ(at(0)->fragment.offset, 800u);
  EXPECT_EQ(at(2900)->fragment.offset, 1800u);   // 2 s is nearer than 4 s
  EXPECT_EQ(at(3000)->fragment.offset, 1800u);   // a tie goes to the earlier keyframe
  EXPECT_EQ(at(3100)->at, t0 + std::chrono::seconds(4));
  EXPECT_EQ(at(14'000)->segment_id, 1);           // 8 s after file 1's last keyframe ...
  EXPECT_EQ(at(16'000)->segment_id, 2);           // ... 4 s before file 2's first
  EXPECT_EQ(at(16'000)->at, t0 + std::chrono::seconds(20));
  EXPECT_EQ(at(16'000)->init_bytes, 800u);
  EXPECT_EQ(at(-5000)->at, t0);                   // before the first file
  EXPECT_FALSE(nearest_keyframe(files, t0 + std::chrono::seconds(60), reach));  // too far
  EXPECT_FALSE(nearest_keyframe({}, t0, reach));
}

TEST(Preview, CacheKeepsTheMostRecentlyUsed) {
  PreviewCache cache(2);
  auto jpeg = [](const char* s) { return std::make_shared<const std::string>(s); };
  cache.put("a", jpeg("A"));
  cache.put("b", jpeg("B"));
  EXPECT_EQ(*cache.get("a"), "A");  // a is now the most recent
  cache.put("c", jpeg("C"));        // b goes
  EXPECT_EQ(cache.get("b"), nullptr);
  EXPECT_EQ(*cache.get("a"), "A");
  EXPECT_EQ(*cache.get("c"), "C");
  cache.put("c", jpeg("C2"));  // replaced, not twice
  EXPECT_EQ(*cache.get("c"), "C2");
  EXPECT_EQ(*cache.get("a"), "A");
}

// Bytes that are not an fMP4 are no picture, and no exception.
TEST(Preview, GarbageIsNoThumbnail) {
  EXPECT_FALSE(fragment_thumbnail("", "", 320));
  EXPECT_FALSE(fragment_thumbnail(std::string(64, 'x'), std::string(1000, '\0'), 320));
}

TEST(Timeline, MergesTouchingSegmentsAndClipsToTheWindow) {
  std::vector<TimelineSegment> segs = {
      {kT0 + seconds(120), kT0 + seconds(240)},       // out of order on purpose
      {kT0, kT0 + seconds(120) - milliseconds(100)},  // touches the next within 250 ms
      {kT0 + seconds(300), kT0 + seconds(420)},       // after a 60 s gap
      {kT0 + seconds(500), kT0 + seconds(500)},       // empty: a file just opened
  };
  std::vector<TimelineGap> gaps = {{kT0 + seconds(240), kT0 + seconds(300), "camera unreachable"}};
  const Timeline t = build_timeline(segs, gaps, kT0 + seconds(60), kT0 + seconds(400));
  ASSERT_EQ(t.recorded.size(), 2u);
  EXPECT_EQ(t.recorded[0].start, kT0 + seconds(60));
  EXPECT_EQ(t.recorded[0].end, kT0 + seconds(240));
  EXPECT_EQ(t.recorded[0].segments, 2);
  EXPECT_EQ(t.recorded[1].start, kT0 + seconds(300));
  EXPECT_EQ(t.recorded[1].end, kT0 + seconds(400));
  ASSERT_EQ(t.gaps.size(), 1u);
  EXPECT_EQ(t.gaps[0].reason, "camera unreachable");
}

TEST(Timeline, SegmentsFartherApartThanTheToleranceStaySeparate) {
  const Timeline t = build_timeline(
      {{kT0, kT0 + seconds(10)}, {kT0 + seconds(10) + milliseconds(251), kT0 + seconds(20)}}, {},
      kT0, kT0 + seconds(60));
  EXPECT_EQ(t.recorded.size(), 2u);
}

std::vector<Fragment> fragments(uint64_t init,
                                std::initializer_list<std::pair<uint64_t, int64_t>> v) {
  std::vector<Fragment> out;
  uint64_t off = init;
  Ticks90k start{0};
  for (auto [size, dur] : v) {
    out.push_back({off, size, start, Ticks90k(dur)});
    off += size;
    start += Ticks90k(dur);
  }
  return out;
}

TEST(Playlist, AddressesInitPartAndFragmentsByByteRange) {
  std::vector<PlaylistFile> files = {
      {7, kT0, 800, fragments(800, {{1000, 180000}, {2000, 180000}, {1500, 90000}})},
      // After a 10 s gap: a discontinuity with its own init part.
      {9, kT0 + seconds(15), 700, fragments(700, {{3000, 180000}})},
  };
  const Playlist p = build_playlist(files, kT0, kT0 + seconds(60), "/api/segments/", "/media");
  EXPECT_EQ(p.fragments, 4);
  EXPECT_EQ(p.first, kT0);
  EXPECT_EQ(p.last_end, kT0 + seconds(17));
  const std::string expected =
      "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-MAP:URI=\"/api/segments/7/media\",BYTERANGE=\"800@0\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:" +
      format_iso8601(kT0) +
      "\n"
      "#EXTINF:2.000,\n#EXT-X-BYTERANGE:1000@800\n/api/segments/7/media\n"
      "#EXTINF:2.000,\n#EXT-X-BYTERANGE:2000@1800\n/api/segments/7/media\n"
      "#EXTINF:1.000,\n#EXT-X-BYTERANGE:1500@3800\n/api/segments/7/media\n"
      "#EXT-X-DISCONTINUITY\n"
      "#EXT-X-MAP:URI=\"/api/segments/9/media\",BYTERANGE=\"700@0\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:" +
      format_iso8601(kT0 + seconds(15)) +
      "\n"
      "#EXTINF:2.000,\n#EXT-X-BYTERANGE:3000@700\n/api/segments/9/media\n"
      "#EXT-X-ENDLIST\n";
  EXPECT_EQ(p.text, expected);
}

TEST(Playlist, ListsOnlyFragmentsOverlappingTheWindow) {
  std::vector<PlaylistFile> files = {
      {1, kT0, 100, fragments(100, {{10, 180000}, {20, 180000}, {30, 180000}, {40, 270000}})}};
  // [3 s, 5 s) overlaps the 2nd (2-4 s) and 3rd (4-6 s) fragments only.
  const Playlist p = build_playlist(files, kT0 + seconds(3), kT0 + seconds(5), "/s/", "");
  EXPECT_EQ(p.fragments, 2);
  EXPECT_NE(p.text.find("#EXT-X-BYTERANGE:20@110\n"), std::string::npos);
  EXPECT_NE(p.text.find("#EXT-X-BYTERANGE:30@130\n"), std::string::npos);
  EXPECT_EQ(p.text.find("@100\n"), std::string::npos);
  EXPECT_EQ(p.text.find("#EXT-X-DISCONTINUITY"), std::string::npos);
  EXPECT_NE(p.text.find("#EXT-X-PROGRAM-DATE-TIME:" + format_iso8601(kT0 + seconds(2))),
            std::string::npos);
  // The longest EXTINF (3 s) is not listed, so the target is 2.
  EXPECT_NE(p.text.find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
  EXPECT_EQ(build_playlist(files, kT0 + seconds(60), kT0 + seconds(70), "/s/", "").fragments, 0);
}

TEST(Playlist, AnEventPlaylistHasNoEndlist) {
  std::vector<PlaylistFile> files = {{3, kT0, 100, fragments(100, {{10, 180000}, {20, 180000}})}};
  const Playlist p = build_playlist(files, kT0, kT0 + seconds(60), "/s/", "", PlaylistType::kEvent);
  EXPECT_EQ(p.fragments, 2);
  EXPECT_NE(p.text.find("#EXT-X-PLAYLIST-TYPE:EVENT\n"), std::string::npos);
  EXPECT_EQ(p.text.find("VOD"), std::string::npos);
  EXPECT_EQ(p.text.find("#EXT-X-ENDLIST"), std::string::npos);
  // The same fragments as the VOD form, so that a reload only appends.
  const Playlist vod = build_playlist(files, kT0, kT0 + seconds(60), "/s/", "");
  const auto body = [](const std::string& t) { return t.substr(t.find("#EXT-X-MAP")); };
  EXPECT_EQ(body(vod.text), body(p.text) + "#EXT-X-ENDLIST\n");
}

TEST(OpenSegmentsTest, TracksSyncedFragmentsUntilClosed) {
  OpenSegments open;
  EXPECT_FALSE(open.of_camera("front"));
  OpenSegment s;
  s.segment_id = 5;
  s.camera_id = "front";
  s.wall_start = kT0;
  s.init_bytes = 800;
  open.opened(s);
  EXPECT_EQ(open.durable_bytes(5), 800u);
  EXPECT_EQ(open.of_camera("front")->durable_end(), kT0);
  const auto f = fragments(800, {{1000, 180000}, {500, 90000}});
  open.fragment_synced(5, f[0]);
  open.fragment_synced(5, f[1]);
  open.fragment_synced(6, f[0]);  // no such segment: ignored
  EXPECT_EQ(open.durable_bytes(5), 2300u);
  EXPECT_EQ(open.find(5)->durable_end(), kT0 + seconds(3));
  EXPECT_FALSE(open.of_camera("yard"));
  EXPECT_FALSE(open.find(6));
  open.closed(5);
  EXPECT_FALSE(open.find(5));
  EXPECT_FALSE(open.durable_bytes(5));
}

TEST(ByteRangeParse, ServesSingleRangesAndRefusesBadOnes) {
  using K = ByteRange::Kind;
  auto r = parse_byte_range("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, K::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  r = parse_byte_range("bytes=900-", 1000);
  EXPECT_EQ(r.kind, K::kPartial);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_byte_range("bytes=990-5000", 1000);  // clamped to the end
  EXPECT_EQ(r.last, 999u);
  r = parse_byte_range("bytes=-10", 1000);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.last, 999u);
  r = parse_byte_range("bytes=-5000", 1000);
  EXPECT_EQ(r.first, 0u);
  r = parse_byte_range("BYTES=5-5", 1000);
  EXPECT_EQ(r.kind, K::kPartial);
  EXPECT_EQ(r.last, 5u);
  EXPECT_EQ(parse_byte_range("", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_byte_range("items=0-1", 1000).kind, K::kWhole);
  EXPECT_EQ(parse_byte_range("bytes=0-1,5-6", 1000).kind, K::kWhole);
  for (const char* bad :
       {"bytes=1000-", "bytes=1000-2000", "bytes=5-3", "bytes=-0", "bytes=x-1", "bytes=1-y",
        "bytes=", "bytes=-", "bytes=99999999999999999999-", "bytes=+1-2", "bytes=1 2-3"}) {
    EXPECT_EQ(parse_byte_range(bad, 1000).kind, K::kUnsatisfiable) << bad;
  }
  EXPECT_EQ(parse_byte_range("bytes=0-", 0).kind, K::kUnsatisfiable);
}

// The routes through Api::handle, on catalog rows that point at a small file.
class PlaybackApiTest : public ::testing::Test {
 protected:
  PlaybackApiTest()
      : config_(test::two_camera_config(dir_.path())),
        catalog_(dir_.path() / "vigil.db"),
        accounts_(dir_.path() / "vigil.db"),
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

  int64_t add_segment(const std::string& camera, WallTime start, const std::string& codec,
                      const std::string& content) {
    const std::string rel = camera + "-" + std::to_string(ms_since_epoch(start)) + ".mp4";
    {
      std::ofstream f(dir_.path() / rel, std::ios::binary);
      f << content;
    }
    NewSegment n{camera, rel, start, codec, 640, 480, false};
    ClosedSegment c;
    c.init_bytes = 10;
    c.bytes = content.size();
    std::vector<Fragment> frags;
    for (uint64_t off = 10; off + 30 <= content.size(); off += 30) {
      frags.push_back({off, 30, Ticks90k(0), Ticks90k(180000)});
    }
    c.fragment_index = encode_fragment_index(frags);
    c.media_duration = Ticks90k(180000 * static_cast<int64_t>(frags.size()));
    c.wall_end = start + to_wall(c.media_duration);
    c.close_reason = "duration";
    return catalog_.insert_closed_segment(n, c);
  }

  http::Response get(const std::string& user, const std::string& target,
                     std::map<std::string, std::string> headers = {}) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    r.remote_address = "192.0.2.9";
    r.headers = std::move(headers);
    if (!user.empty()) r.headers["authorization"] = "Bearer " + auth_[user];
    http::Response res = api_.handle(r);
    if (res.file) {
      // What the server would send: the slice, read from the open file (the body stays empty in
      // the response itself, which the tests below check too).
      EXPECT_TRUE(res.body.empty());
      res.body.resize(res.file->length);
      size_t done = 0;
      while (done < res.body.size()) {
        const size_t n = res.file->file->read_at(res.file->offset + done, res.body.data() + done,
                                                 res.body.size() - done);
        if (n == 0) break;
        done += n;
      }
      res.body.resize(done);
    }
    return res;
  }

  static std::string window(WallTime a, WallTime b) {
    return "?start=" + std::to_string(ms_since_epoch(a)) +
           "&end=" + std::to_string(ms_since_epoch(b));
  }

  test::TempDir dir_;
  ConfigStore config_;
  Catalog catalog_;
  AccountStore accounts_;
  test::FakeClock clock_;
  OpenSegments open_;  // before api_, which reads it
  Api api_;
  std::map<std::string, std::string> auth_;
};

TEST_F(PlaybackApiTest, TimelineMergesAndReportsGaps) {
  const std::string body(70, 'x');  // init 10 + two 30-byte fragments of 2 s: 4 s per file
  add_segment("front", kT0, "h264", body);
  add_segment("front", kT0 + seconds(4), "h264", body);
  add_segment("front", kT0 + seconds(20), "h264", body);
  catalog_.add_gap("front", kT0 + seconds(8), kT0 + seconds(20), "camera unreachable");
  auto r = get("ann", "/api/cameras/front/timeline" + window(kT0 - seconds(5), kT0 + seconds(60)));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  ASSERT_EQ(j["recorded"].size(), 2u);
  EXPECT_EQ(j["recorded"][0]["start_ms"], ms_since_epoch(kT0));
  EXPECT_EQ(j["recorded"][0]["end_ms"], ms_since_epoch(kT0 + seconds(8)));
  EXPECT_EQ(j["recorded"][0]["segments"], 2);
  ASSERT_EQ(j["gaps"].size(), 1u);
  EXPECT_EQ(j["gaps"][0]["reason"], "camera unreachable");
  EXPECT_EQ(get("ann", "/api/cameras/front/timeline?start=5&end=1").status, 400);
  EXPECT_EQ(get("ann", "/api/cameras/front/timeline?start=1").status, 400);
  EXPECT_EQ(get("val", "/api/cameras/front/timeline" + window(kT0, kT0 + seconds(1))).status, 403);
  EXPECT_EQ(get("", "/api/cameras/front/timeline" + window(kT0, kT0 + seconds(1))).status, 401);
}

// A playback session (one login or token, one camera, requests less than 5 minutes apart) is
// audited once: the player's reloads and a jump to a later moment inside what its rows cover add
// nothing; a window reaching outside them, another token, or a session resumed later do.
TEST_F(PlaybackApiTest, PlaylistsAreAuditedOncePerPlaybackSession) {
  add_segment("front", kT0, "h264", std::string(70, 'x'));
  const std::string pl = "/api/cameras/front/playback.m3u8";
  AuditFilter f;
  f.action = "playback";
  auto rows = [&] { return accounts_.audit(f).size(); };
  ASSERT_EQ(get("ann", pl + window(kT0, kT0 + seconds(60))).status, 200);
  EXPECT_EQ(rows(), 1u);
  ASSERT_EQ(get("ann", pl + window(kT0, kT0 + seconds(60))).status, 200);
  ASSERT_EQ(get("ann", pl + window(kT0 + seconds(1), kT0 + seconds(30))).status, 200);
  EXPECT_EQ(rows(), 1u);
  ASSERT_EQ(get("ann", pl + window(kT0 - seconds(10), kT0 + seconds(60))).status, 200);
  EXPECT_EQ(rows(), 2u);
  // Another token of the same user is another viewing.
  auth_["ann2"] = Authenticator(accounts_, clock_, std::chrono::hours(1))
                      .create_token(*accounts_.user_by_name("ann"), "t2", TokenScope::kFull,
                                    std::nullopt)
                      .token;
  ASSERT_EQ(get("ann2", pl + window(kT0, kT0 + seconds(60))).status, 200);
  EXPECT_EQ(rows(), 3u);
  // Paused for longer than 5 minutes: a new session.
  clock_.advance(std::chrono::minutes(6));
  ASSERT_EQ(get("ann", pl + window(kT0, kT0 + seconds(60))).status, 200);
  EXPECT_EQ(rows(), 4u);
}

TEST_F(PlaybackApiTest, PlaylistMediaRangesAndAudit) {
  std::string body(70, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const int64_t id = add_segment("front", kT0, "h264", body);
  auto r = get("ann", "/api/cameras/front/playback.m3u8" + window(kT0, kT0 + seconds(60)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/vnd.apple.mpegurl");
  const std::string uri = "/api/segments/" + std::to_string(id) + "/media";
  EXPECT_NE(r.body.find("#EXT-X-MAP:URI=\"" + uri + "\",BYTERANGE=\"10@0\""), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-BYTERANGE:30@40\n" + uri), std::string::npos);
  AuditFilter f;
  f.action = "playback";
  const auto rows = accounts_.audit(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].camera_id, "front");
  EXPECT_EQ(rows[0].range_start, kT0);

  auto m = get("ann", uri, {{"range", "bytes=40-69"}});
  EXPECT_EQ(m.status, 206);
  EXPECT_TRUE(m.file) << "media is sent from the file, not built in memory";
  EXPECT_EQ(m.body, body.substr(40, 30));
  bool content_range = false;
  for (const auto& [k, v] : m.headers)
    content_range |= k == "Content-Range" && v == "bytes 40-69/70";
  EXPECT_TRUE(content_range);
  m = get("ann", uri);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, body);
  EXPECT_EQ(get("ann", uri, {{"range", "bytes=70-"}}).status, 416);
  EXPECT_EQ(get("val", uri).status, 403);  // the segment's camera is not val's
  EXPECT_EQ(get("ann", "/api/segments/99999/media").status, 404);
  EXPECT_EQ(get("ann",
                "/api/cameras/front/playback.m3u8" + window(kT0 + seconds(100), kT0 + seconds(200)))
                .status,
            404);
}

// The file being written: a 'writing' row, a file that has grown past its last synced fragment,
// and the registry the recorder fills.
TEST_F(PlaybackApiTest, TheFileBeingRecordedPlaysUpToItsLastSyncedFragment) {
  api_.set_open_segments(open_);
  const std::string closed_body(70, 'c');  // a closed file before it: 2 fragments, 0-4 s
  const int64_t closed_id = add_segment("front", kT0, "h264", closed_body);
  const WallTime start = kT0 + seconds(4);
  const std::string rel = "front-open.mp4";
  // init 10 + two synced 30-byte fragments, then 17 bytes of the fragment being written.
  std::string bytes;
  for (int i = 0; i < 87; ++i) bytes += static_cast<char>('a' + i % 26);
  {
    std::ofstream f(dir_.path() / rel, std::ios::binary);
    f << bytes;
  }
  const int64_t id = catalog_.begin_segment({"front", rel, start, "h264", 640, 480, false});
  OpenSegment pub;
  pub.segment_id = id;
  pub.camera_id = "front";
  pub.path = rel;
  pub.wall_start = start;
  pub.video_codec = "h264";
  pub.init_bytes = 10;
  open_.opened(pub);
  const auto frags = fragments(10, {{30, 180000}, {30, 180000}});  // 4-6 s, 6-8 s
  open_.fragment_synced(id, frags[0]);
  open_.fragment_synced(id, frags[1]);

  const std::string uri = "/api/segments/" + std::to_string(id) + "/media";
  const std::string pl = "/api/cameras/front/playback.m3u8";
  // A window from inside the open file to the future: its fragments, and the player is told
  // to reload (EVENT, no ENDLIST).
  auto r = get("ann", pl + window(start + seconds(3), start + seconds(600)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("#EXT-X-PLAYLIST-TYPE:EVENT\n"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-MAP:URI=\"" + uri + "\",BYTERANGE=\"10@0\""), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-PROGRAM-DATE-TIME:" + format_iso8601(start + seconds(2))),
            std::string::npos);
  EXPECT_EQ(r.body.find("@10\n"), std::string::npos) << "the 1st fragment ends before the window";
  EXPECT_NE(r.body.find("#EXT-X-BYTERANGE:30@40\n" + uri), std::string::npos);
  EXPECT_EQ(r.body.find("@70\n"), std::string::npos) << "nothing past the last synced fragment";

  // The closed file before it and the open one: a discontinuity between them.
  r = get("ann", pl + window(kT0, start + seconds(600)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("/api/segments/" + std::to_string(closed_id) + "/media"), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"" + uri), std::string::npos);
  EXPECT_EQ(r.body.find("#EXT-X-ENDLIST"), std::string::npos);

  // A window that ends inside what is synced is complete: VOD.
  r = get("ann", pl + window(start, start + seconds(3)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-ENDLIST"), std::string::npos);

  // After the last synced fragment: nothing yet, and the answer says when there will be.
  r = get("ann", pl + window(start + seconds(8), start + seconds(600)));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("being recorded"), std::string::npos) << r.body;

  // Media: byte ranges of the synced part only; the file's 17 bytes beyond it do not exist.
  auto m = get("ann", uri, {{"range", "bytes=40-69"}});
  EXPECT_EQ(m.status, 206);
  EXPECT_EQ(m.body, bytes.substr(40, 30));
  bool content_range = false;
  for (const auto& [k, v] : m.headers) content_range |= k == "Content-Range" && v == "bytes 40-69/70";
  EXPECT_TRUE(content_range);
  m = get("ann", uri, {{"range", "bytes=60-86"}});  // clamped to the synced end
  EXPECT_EQ(m.status, 206);
  EXPECT_EQ(m.body, bytes.substr(60, 10));
  m = get("ann", uri, {{"range", "bytes=-5"}});
  EXPECT_EQ(m.body, bytes.substr(65, 5));
  m = get("ann", uri);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, bytes.substr(0, 70));
  m = get("ann", uri, {{"range", "bytes=70-"}});
  EXPECT_EQ(m.status, 416);
  bool star = false;
  for (const auto& [k, v] : m.headers) star |= k == "Content-Range" && v == "bytes */70";
  EXPECT_TRUE(star);
  EXPECT_EQ(get("val", uri).status, 403);

  // A reload of the live playlist is the same playlist: audited once.
  AuditFilter f;
  f.action = "playback";
  const size_t audited = accounts_.audit(f).size();
  r = get("ann", pl + window(start + seconds(3), start + seconds(600)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(accounts_.audit(f).size(), audited);

  // More is synced: the reload lists it.
  const Fragment third{70, 17, Ticks90k(360000), Ticks90k(180000)};
  open_.fragment_synced(id, third);
  r = get("ann", pl + window(start + seconds(3), start + seconds(600)));
  EXPECT_NE(r.body.find("#EXT-X-BYTERANGE:17@70\n" + uri), std::string::npos) << r.body;
  EXPECT_EQ(get("ann", uri, {{"range", "bytes=70-86"}}).body, bytes.substr(70, 17));

  // The file closes (the row first, then the registry): the final index, VOD.
  ClosedSegment c;
  c.init_bytes = 10;
  c.bytes = 87;
  c.fragment_index = encode_fragment_index({frags[0], frags[1], third});
  c.media_duration = Ticks90k(540000);
  c.wall_end = start + seconds(6);
  c.close_reason = "stream ended";
  catalog_.close_segment(id, c);
  // Closed in the catalog, still in the registry: the closed row decides, the whole file.
  m = get("ann", uri);
  EXPECT_EQ(m.body.size(), 87u);
  open_.closed(id);
  r = get("ann", pl + window(start, start + seconds(600)));
  EXPECT_NE(r.body.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_NE(r.body.find("#EXT-X-BYTERANGE:17@70\n" + uri), std::string::npos);
  m = get("ann", uri);
  EXPECT_EQ(m.body, bytes);
}

// A 'writing' row no recorder has (its closing failed): neither listed nor served.
TEST_F(PlaybackApiTest, AWritingRowNoRecorderHoldsIsNotServed) {
  api_.set_open_segments(open_);
  const std::string rel = "front-stale.mp4";
  {
    std::ofstream f(dir_.path() / rel, std::ios::binary);
    f << std::string(70, 'x');
  }
  const int64_t id = catalog_.begin_segment({"front", rel, kT0, "h264", 640, 480, false});
  EXPECT_EQ(get("ann", "/api/cameras/front/playback.m3u8" + window(kT0, kT0 + seconds(60))).status,
            404);
  EXPECT_EQ(get("ann", "/api/segments/" + std::to_string(id) + "/media").status, 404);
}

TEST_F(PlaybackApiTest, H265IsRefusedWithAPointerToExport) {
  add_segment("yard", kT0, "hevc", std::string(70, 'x'));
  auto r = get("val", "/api/cameras/yard/playback.m3u8" + window(kT0, kT0 + seconds(10)));
  EXPECT_EQ(r.status, 422);
  const json j = json::parse(r.body);
  EXPECT_EQ(j["error"], "unsupported_codec");
  EXPECT_NE(j["detail"].get<std::string>().find("H.265"), std::string::npos);
  EXPECT_NE(j["detail"].get<std::string>().find("/api/exports"), std::string::npos);
}

TEST(ExportQueueTest, FinishedExportsExpireWithTheirFiles) {
  test::TempDir dir;
  test::FakeClock clock(kT0);
  ExportQueue q(dir.path() / "exports", clock);
  auto wait_finished = [&](int64_t id) {
    for (int i = 0; i < 500; ++i) {
      auto j = q.job(id);
      if (j && (j->state == ExportJob::State::kDone || j->state == ExportJob::State::kFailed)) {
        return *j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "export " << id << " did not finish";
    return ExportJob{};
  };
  ExportJob job;
  job.camera_id = "front";
  // No pieces: the remux refuses, the job fails and says so.
  const int64_t first = std::get<int64_t>(q.submit(job));
  EXPECT_EQ(wait_finished(first).state, ExportJob::State::kFailed);
  clock.advance(ExportQueue::kKeep - std::chrono::minutes(1));
  const int64_t second = std::get<int64_t>(q.submit(job));
  EXPECT_TRUE(q.job(first).has_value());  // not yet a day old
  wait_finished(second);
  clock.advance(std::chrono::minutes(2));
  q.submit(job);
  EXPECT_FALSE(q.job(first).has_value());
  EXPECT_TRUE(q.job(second).has_value());
}

// The byte bounds: all exports together may take max_stored_bytes of retention's min_free_space,
// and an export must leave the rest of that reserve free. (The counts are checked by the
// integration test, on a real vigil whose jobs really run.)
TEST(ExportQueueTest, RefusesExportsBeyondTheirBytesAndTheReserve) {
  test::TempDir dir;
  test::FakeClock clock(kT0);
  ExportQueue q(dir.path() / "exports", clock);
  ExportBounds b;
  b.max_stored_bytes = 1000;
  b.min_free_bytes = 1500;  // exports may use 1000 of it; 500 must stay free
  ExportJob job;
  job.user_name = "ann";
  job.estimate = 1001;
  auto why = q.refusal(job, b, 1'000'000);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->status, 507);
  EXPECT_EQ(why->limit, "exports.max_stored_bytes");
  EXPECT_NE(why->detail.find("max_stored_bytes"), std::string::npos) << why->detail;

  job.estimate = 400;
  EXPECT_FALSE(q.refusal(job, b, 900));  // 900 - 400 leaves the 500
  why = q.refusal(job, b, 899);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->status, 507);
  EXPECT_EQ(why->limit, "min_free_space");
  // submit judges the same way, and queues nothing when it refuses.
  auto refused = q.submit(job, b, 899);
  ASSERT_TRUE(std::holds_alternative<ExportRefused>(refused));
  EXPECT_FALSE(q.job(1).has_value());
}

}  // namespace
}  // namespace vigil
