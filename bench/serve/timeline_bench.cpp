// bench/serve, timeline part: the recordings timeline over a synthetic year of catalog rows.
// Fills a fresh catalog with `--cameras` cameras × `--days` days of back-to-back segments of
// `--segment-seconds` (with a gap every few days), then asks GET /api/cameras/{id}/timeline
// through Api::handle (routing, token authentication, authorization, the catalog query, merging
// and JSON: everything but the socket) for random days and random 30-day months of random
// cameras, and prints p50/p99/max per window. A measurement, never a test: nothing is asserted.
//
//   build/bench/serve/vigil_bench_timeline [--cameras 32] [--days 365] [--segment-seconds 120]
//                                          [--queries 200] [--dir DIR]
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "serve/api.h"
#include "serve/auth.h"

namespace {

using namespace vigil;
using Clock_ = std::chrono::steady_clock;

class FixedClock final : public Clock {
 public:
  explicit FixedClock(WallTime t) : t_(t) {}
  WallTime wall_now() const override { return t_; }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }

 private:
  WallTime t_;
};

int arg(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  }
  return def;
}

std::string arg_s(int argc, char** argv, const char* name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return argv[i + 1];
  }
  return def;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int cameras = arg(argc, argv, "--cameras", 32);
  const int days = arg(argc, argv, "--days", 365);
  const int seg_s = arg(argc, argv, "--segment-seconds", 120);
  const int queries = arg(argc, argv, "--queries", 200);
  const std::filesystem::path dir =
      arg_s(argc, argv, "--dir",
            (std::filesystem::temp_directory_path() / "vigil-bench-timeline").string());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const WallTime t0 = wall_from_ms(1'760'000'000'000);
  const WallTime t_end = t0 + std::chrono::hours(24) * days;

  Config config;
  config.data_dir = dir;
  for (int c = 0; c < cameras; ++c) {
    CameraConfig cam;
    cam.id = "cam" + std::to_string(c);
    cam.name = cam.id;
    config.cameras.push_back(cam);
  }
  { Catalog migrate(dir / "vigil.db"); }
  const auto fill_start = Clock_::now();
  int64_t rows = 0;
  {
    // Bulk insert with one connection and one transaction per camera; the catalog's own
    // insert path syncs every row, which is right for recording and far too slow here.
    sqlite3* db = nullptr;
    if (sqlite3_open((dir / "vigil.db").c_str(), &db) != SQLITE_OK) {
      std::fprintf(stderr, "open %s: %s\n", (dir / "vigil.db").c_str(), sqlite3_errmsg(db));
      return 1;
    }
    auto exec = [db](const char* sql) {
      if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        std::exit(1);
      }
    };
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=OFF");
    sqlite3_stmt* seg = nullptr;
    sqlite3_stmt* gap = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, "
                       "media_duration_90k, bytes, init_bytes, video_codec, width, height, "
                       "has_audio) VALUES (?1, 'closed', ?2, ?3, ?4, ?5, 60000000, 900, 'h264', "
                       "1920, 1080, 0)",
                       -1, &seg, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO gap (camera_id, wall_start_ms, wall_end_ms, reason) "
                       "VALUES (?1, ?2, ?3, 'camera unreachable: connection refused')",
                       -1, &gap, nullptr);
    for (int c = 0; c < cameras; ++c) {
      exec("BEGIN");
      const std::string cam = config.cameras[static_cast<size_t>(c)].id;
      int64_t t = ms_since_epoch(t0) + c * 1000;
      int64_t n = 0;
      while (t < ms_since_epoch(t_end)) {
        // A 5-minute outage every ~3 days, as a flaky camera would have.
        if (++n % 2000 == 0) {
          sqlite3_bind_text(gap, 1, cam.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64(gap, 2, t);
          sqlite3_bind_int64(gap, 3, t + 300'000);
          if (sqlite3_step(gap) != SQLITE_DONE) return 1;
          sqlite3_reset(gap);
          t += 300'000;
        }
        const std::string path = cam + "/" + std::to_string(t) + ".mp4";
        sqlite3_bind_text(seg, 1, cam.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(seg, 2, path.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(seg, 3, t);
        sqlite3_bind_int64(seg, 4, t + seg_s * 1000 - 40);
        sqlite3_bind_int64(seg, 5, int64_t{seg_s} * 90000);
        if (sqlite3_step(seg) != SQLITE_DONE) {
          std::fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
          return 1;
        }
        sqlite3_reset(seg);
        t += seg_s * 1000;
        ++rows;
      }
      exec("COMMIT");
    }
    sqlite3_finalize(seg);
    sqlite3_finalize(gap);
    sqlite3_close(db);
  }
  const double fill_s = std::chrono::duration<double>(Clock_::now() - fill_start).count();
  std::printf(
      "catalog: %d cameras x %d days of %d s segments = %lld rows, filled in %.1f s, %.0f MiB\n",
      cameras, days, seg_s, static_cast<long long>(rows), fill_s,
      static_cast<double>(std::filesystem::file_size(dir / "vigil.db")) / (1 << 20));

  FixedClock clock(t_end);
  AccountStore accounts(dir / "vigil.db");
  User u;
  u.name = "bench";
  u.role = Role::kAdmin;
  u.password_hash = "x";
  u.created = t0;
  accounts.add_user(u);
  const std::string token = Authenticator(accounts, clock, std::chrono::hours(1))
                                .create_token(*accounts.user_by_name("bench"), "bench",
                                              TokenScope::kFull, std::nullopt)
                                .token;
  ConfigStore configs(config);
  Api api(configs, accounts, clock, nullptr);
  std::mt19937_64 rng(42);
  for (const auto& [label, window] : {std::pair{"day", std::chrono::hours(24)},
                                      std::pair{"month (30 days)", std::chrono::hours(24 * 30)}}) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int q = 0; q < queries; ++q) {
      const auto cam = config.cameras[rng() % config.cameras.size()].id;
      const int64_t span = ms_since_epoch(t_end) - ms_since_epoch(t0) -
                           std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
      const int64_t start =
          ms_since_epoch(t0) +
          static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max<int64_t>(span, 1)));
      const int64_t end =
          start + std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
      http::Request r;
      r.method = "GET";
      r.target = "/api/cameras/" + cam + "/timeline?start=" + std::to_string(start) +
                 "&end=" + std::to_string(end);
      r.remote_address = "127.0.0.1";
      r.headers["authorization"] = "Bearer " + token;
      const auto a = Clock_::now();
      const auto res = api.handle(r);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock_::now() - a).count());
      if (res.status != 200) {
        std::fprintf(stderr, "timeline answered %d: %s\n", res.status, res.body.c_str());
        return 1;
      }
      bytes += res.body.size();
    }
    std::printf(
        "timeline of a %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d queries, %zu bytes "
        "of JSON on average)\n",
        label, percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0), queries,
        bytes / static_cast<size_t>(queries));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
