// bench/cluster, catalog part: the same catalog work on SQLite and on PostgreSQL (issue 20).
// Fills a fresh catalog at --url (a SQLite file, or a postgresql:// URL of an empty database)
// with --cameras × --days of back-to-back segments of --segment-seconds (a 5-minute gap every
// 2,000 segments), then measures
//  - the timeline's catalog reads (runs_between + gaps_between, what GET .../timeline asks of
//    the catalog; the events list is not on PostgreSQL yet) for random days and random 30-day
//    months of random cameras: p50/p99/max;
//  - the segment-row insert rate of recorders: --nodes Catalog instances (one per node, each
//    with its own connections) × --cameras threads, each adding a segment row and closing it
//    (begin_segment + close_segment, as a recorder does per file) for --insert-seconds.
// The fill is one INSERT ... SELECT per camera (a recursive series, written for both engines).
// On PostgreSQL the per-row triggers are switched off for the fill and the kept tables rebuilt
// after it by `vigil check --repair`'s own code (check_usage, check_runs), which is how a bulk
// import would do it; SQLite fills with its triggers on. A measurement, never a test.
//
//   build/bench/cluster/vigil_bench_cluster --url FILE|postgresql://... [--cameras 32]
//       [--days 365] [--segment-seconds 120] [--queries 200] [--nodes 3] [--insert-seconds 10]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/sql.h"

namespace {

using namespace vigil;
using Clock_ = std::chrono::steady_clock;

int arg(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  }
  return def;
}

std::string arg_s(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return argv[i + 1];
  }
  return "";
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

double seconds_since(Clock_::time_point t) {
  return std::chrono::duration<double>(Clock_::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string url = arg_s(argc, argv, "--url");
  if (url.empty()) {
    std::fprintf(stderr, "usage: %s --url FILE|postgresql://... [options]\n", argv[0]);
    return 2;
  }
  const int cameras = arg(argc, argv, "--cameras", 32);
  const int days = arg(argc, argv, "--days", 365);
  const int seg_s = arg(argc, argv, "--segment-seconds", 120);
  const int queries = arg(argc, argv, "--queries", 200);
  const int nodes = arg(argc, argv, "--nodes", 3);
  const int insert_s = arg(argc, argv, "--insert-seconds", 10);
  const bool postgres = sql::is_postgres_url(url);
  const int64_t t0 = 1'760'000'000'000;
  const int64_t per_camera = int64_t{days} * 86'400 / seg_s;

  { Catalog migrate(url); }
  const auto fill_start = Clock_::now();
  {
    auto db = sql::open(url);
    if (!postgres) db->exec("PRAGMA synchronous=OFF");
    if (postgres) db->exec("ALTER TABLE segment DISABLE TRIGGER USER");
    for (int c = 0; c < cameras; ++c) {
      const std::string cam = "cam" + std::to_string(c);
      db->begin(sql::Connection::Mode::kWrite);
      // Segment i starts after i segments and i / 2000 five-minute outages.
      db->prepare(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :count) "
            "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, "
            "media_duration_90k, bytes, init_bytes, video_codec, width, height, has_audio) "
            "SELECT :cam, 'closed', :cam || '/' || CAST(i AS TEXT) || '.mp4', "
            ":t0 + i * :seg_ms + (i / 2000) * 300000, "
            ":t0 + i * :seg_ms + (i / 2000) * 300000 + :seg_ms - 40, :dur, 60000000, 900, "
            "'h264', 1920, 1080, 0 FROM n")
          .bind(":count", per_camera)
          .bind(":cam", cam)
          .bind(":t0", t0 + c * 1000)
          .bind(":seg_ms", int64_t{seg_s} * 1000)
          .bind(":dur", int64_t{seg_s} * 90'000)
          .run();
      db->prepare(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :gaps) "
            "INSERT INTO gap (camera_id, wall_start_ms, wall_end_ms, reason) "
            "SELECT :cam, :t0 + i * 2000 * :seg_ms + (i - 1) * 300000, "
            ":t0 + i * 2000 * :seg_ms + i * 300000, 'camera unreachable: connection refused' "
            "FROM n")
          .bind(":gaps", per_camera / 2000 + 1)
          .bind(":cam", cam)
          .bind(":t0", t0 + c * 1000)
          .bind(":seg_ms", int64_t{seg_s} * 1000)
          .run();
      db->commit();
    }
    if (postgres) {
      db->exec("ALTER TABLE segment ENABLE TRIGGER USER");
      db->exec("ANALYZE");
    }
  }
  if (postgres) {
    Catalog c(url);
    c.check_usage(true);
    c.check_runs(true);
  }
  std::printf("%s: %d cameras x %d days of %d s segments = %lld rows, filled in %.1f s\n",
              postgres ? "postgresql" : "sqlite", cameras, days, seg_s,
              static_cast<long long>(per_camera * cameras), seconds_since(fill_start));

  Catalog catalog(url);
  std::mt19937_64 rng(42);
  const int64_t t_end = t0 + int64_t{days} * 86'400'000;
  for (const auto& [label, window_ms] : {std::pair{"day", int64_t{86'400'000}},
                                         std::pair{"month (30 days)", int64_t{30} * 86'400'000}}) {
    std::vector<double> ms;
    size_t runs = 0, gaps = 0;
    for (int q = 0; q < queries; ++q) {
      const std::string cam = "cam" + std::to_string(rng() % static_cast<uint64_t>(cameras));
      const int64_t span = std::max<int64_t>(t_end - t0 - window_ms, 1);
      const int64_t start = t0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
      const auto a = Clock_::now();
      runs +=
          catalog.runs_between(cam, wall_from_ms(start), wall_from_ms(start + window_ms)).size();
      gaps +=
          catalog.gaps_between(cam, wall_from_ms(start), wall_from_ms(start + window_ms)).size();
      ms.push_back(std::chrono::duration<double, std::milli>(Clock_::now() - a).count());
    }
    std::printf(
        "timeline reads of a %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d queries, "
        "%.1f runs and %.1f gaps each)\n",
        label, percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0), queries,
        static_cast<double>(runs) / queries, static_cast<double>(gaps) / queries);
  }

  // Recorders: every camera of every node adds and closes segment rows as fast as it can.
  std::vector<std::unique_ptr<Catalog>> node_catalogs;
  for (int n = 0; n < nodes; ++n) node_catalogs.push_back(std::make_unique<Catalog>(url));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> added{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> recorders;
  const auto insert_start = Clock_::now();
  for (int n = 0; n < nodes; ++n) {
    for (int c = 0; c < cameras; ++c) {
      recorders.emplace_back([&, n, c] {
        try {
          Catalog& cat = *node_catalogs[static_cast<size_t>(n)];
          const std::string cam = "node" + std::to_string(n) + "-cam" + std::to_string(c);
          int64_t t = t_end;
          while (!stop.load()) {
            NewSegment s;
            s.camera_id = cam;
            s.path = cam + "/" + std::to_string(t) + ".mp4";
            s.wall_start = wall_from_ms(t);
            s.video_codec = "h264";
            s.width = 1920;
            s.height = 1080;
            const int64_t id = cat.begin_segment(s);
            ClosedSegment done;
            done.wall_end = wall_from_ms(t + 1000);
            done.bytes = 1'000'000;
            done.fragment_index = std::vector<uint8_t>(64, 1);
            done.sha256 = std::vector<uint8_t>(32, 2);
            done.close_reason = "duration";
            cat.close_segment(id, done);
            t += 1000;
            ++added;
          }
        } catch (const std::exception& e) {
          // SQLite's busy timeout, most likely: counted and said, the others go on.
          if (failed++ == 0) std::fprintf(stderr, "a recorder failed: %s\n", e.what());
        }
      });
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds(insert_s));
  stop = true;
  for (auto& t : recorders) t.join();
  const double elapsed = seconds_since(insert_start);
  std::printf(
      "segment rows (begin + close) by %d nodes x %d cameras: %.0f rows/s (%lld in %.1f s; "
      "%lld recorders failed)\n",
      nodes, cameras, static_cast<double>(added.load()) / elapsed,
      static_cast<long long>(added.load()), elapsed, static_cast<long long>(failed.load()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vigil_bench_cluster: %s\n", e.what());
  return 1;
}
