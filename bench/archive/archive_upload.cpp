// bench/archive: archive::S3Client putting FILE as KEY into BUCKET at ENDPOINT (put_file: signed
// SHA-256, Content-MD5, multipart above part_size, the stored size checked), then reading it back
// in 1 MiB ranges as playback would. Prints one line per step: "put|get WALL_S CPU_S BYTES" (CPU:
// this process's user + system time, which is what vigil would spend).
// bench/archive/run times it against curl on the same file and store.
// Run: vigil_bench_archive ENDPOINT BUCKET FILE KEY [PART_MIB=16]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "archive/s3_client.h"
#include "core/error.h"

using namespace vigil;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: vigil_bench_archive ENDPOINT BUCKET FILE KEY [PART_MIB]\n";
    return 2;
  }
  archive::S3Config c;
  c.endpoint = argv[1];
  c.bucket = argv[2];
  c.access_key = "S3RVER";  // the test server's account (tests/s3/server.js)
  c.secret_key = "S3RVER";
  if (argc > 5) c.part_size = static_cast<uint64_t>(std::atoi(argv[5])) * 1024 * 1024;
  try {
    archive::S3Client s3(c);
    const auto cpu = [] {
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu();
    const archive::ObjectInfo info = s3.put_file(argv[4], argv[3]);
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu();
    uint64_t read = 0;
    for (uint64_t off = 0; off < info.size; off += 1 << 20) {
      read += s3.get_range(argv[4], off, 1 << 20).size();
    }
    const auto t2 = std::chrono::steady_clock::now();
    const double c2 = cpu();
    std::printf("put %.3f %.3f %llu\nget %.3f %.3f %llu\n", secs(t1 - t0), c1 - c0,
                static_cast<unsigned long long>(info.size), secs(t2 - t1), c2 - c1,
                static_cast<unsigned long long>(read));
    if (read != info.size) {
      std::cerr << "read back " << read << " of " << info.size << " bytes\n";
      return 1;
    }
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
