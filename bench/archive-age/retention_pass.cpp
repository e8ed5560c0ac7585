// bench/archive-age's retention pass: opens a data directory's catalog (vigil serve stopped),
// runs Retention::run_once() with every camera that has footage kept for --max-days (the file
// system's real free space against --min-free-bytes), twice, and prints how long each pass took
// and what it deleted, as one JSON line. The first pass deletes what is due; the second is the
// steady state (nothing or a few segments due). run.py reads the line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "retention/retention.h"

int main(int argc, char** argv) {
  using namespace vigil;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DATA_DIR MAX_DAYS MIN_FREE_BYTES\n", argv[0]);
    return 2;
  }
  const std::filesystem::path data_dir = argv[1];
  const int max_days = std::atoi(argv[2]);
  const uint64_t min_free = std::strtoull(argv[3], nullptr, 10);
  SystemClock clock;
  StatvfsDiskSpace disk;
  const auto opened = std::chrono::steady_clock::now();
  Catalog catalog(data_dir / "vigil.db");
  std::map<std::string, RetentionLimits> limits;
  for (const auto& cam : catalog.cameras_with_segments()) {
    limits[cam] = RetentionLimits{max_days, std::nullopt};
  }
  Retention retention(catalog, data_dir, min_free, limits, clock, disk);
  const auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t)
        .count();
  };
  const double open_ms = ms_since(opened);
  auto t = std::chrono::steady_clock::now();
  const RetentionPass first = retention.run_once();
  const double first_ms = ms_since(t);
  t = std::chrono::steady_clock::now();
  const RetentionPass second = retention.run_once();
  const double second_ms = ms_since(t);
  std::printf(
      "{\"cameras\": %zu, \"open_ms\": %.1f, \"first_ms\": %.1f, \"first_deleted\": %d, "
      "\"second_ms\": %.1f, \"second_deleted\": %d}\n",
      limits.size(), open_ms, first_ms, first.deleted, second_ms, second.deleted);
  return 0;
}
