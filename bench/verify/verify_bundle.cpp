// bench/verify: how long `vigil verify` takes on a one-hour bundle of a 4 Mbit/s camera.
//
// The footage is synthetic but made of real fragments: the fragments of SEGMENT (a fragmented
// MP4, e.g. ffmpeg's 2-s GOP 4 Mbit/s encode, see README.md) are repeated until the bundle
// holds MINUTES of them, written into one segment file, chained with chain.h, signed with a
// fresh key and bundled with write_evidence_bundle. Then verify_evidence_bundle is timed (the
// same call `vigil verify` makes). Run: vigil_bench_verify SEGMENT WORKDIR [MINUTES=60]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "integrity/bundle.h"
#include "integrity/verify.h"
#include "record/bmff_scan.h"

using namespace vigil;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: vigil_bench_verify SEGMENT WORKDIR [MINUTES]\n";
    return 2;
  }
  const std::filesystem::path source = argv[1], work = argv[2];
  const int minutes = argc > 3 ? std::atoi(argv[3]) : 60;
  const BmffScan scan = scan_fragmented_mp4(source);
  if (!scan.has_init || scan.fragments.empty()) {
    std::cerr << source << ": not a fragmented MP4: " << scan.problem << "\n";
    return 2;
  }
  std::ifstream in(source, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string init = data.substr(0, scan.init_bytes);
  Sha256Hasher ih;
  ih.update(reinterpret_cast<const uint8_t*>(init.data()), init.size());
  const Sha256 init_hash = ih.finish();

  std::filesystem::create_directories(work);
  const auto segment = work / "segment.mp4";
  std::ofstream out(segment, std::ios::binary);
  out.write(init.data(), static_cast<std::streamsize>(init.size()));
  BundleInput input;
  input.camera_id = "bench";
  input.parts.push_back({FileRange{segment, 0, init.size(), ""}, {}});
  const KeyPair key = generate_key_pair();
  input.statement_key = key;
  const WallTime t0 = wall_from_ms(1'796'418'000'000);
  WallTime t = t0;
  uint64_t offset = init.size(), seq = 0;
  Sha256 link = kChainGenesis;
  while (t < t0 + std::chrono::minutes(minutes)) {
    for (const ScannedFragment& f : scan.fragments) {
      const std::string bytes = data.substr(f.offset, f.size);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      Sha256Hasher h;
      h.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ChainEntry e{"bench", seq++, ChainKind::kFragment, t, f.duration, init_hash, h.finish(), ""};
      link = chain_link(link, e);
      input.parts[0].fragments.push_back({e, link, FileRange{segment, offset, f.size, ""}});
      offset += f.size;
      t += to_wall(f.duration);
    }
  }
  out.close();
  input.from = t0;
  input.to = t;
  const Checkpoint c{"bench", seq - 1, link, t, Sha256{}};
  input.checkpoints.push_back({c, sign(key, checkpoint_message(c)), key.public_key, {}});
  input.exporter = {"bench", t, "local"};
  const auto bundle = work / "bundle.zip";
  auto start = std::chrono::steady_clock::now();
  write_evidence_bundle(input, bundle);
  const double write_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  const VerifyReport r = verify_evidence_bundle(bundle, key_fingerprint(key.public_key));
  const double verify_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d min, %llu fragments, %.1f MB (%.2f Mbit/s): write %.2f s, verify %.2f s, %s\n",
              minutes, static_cast<unsigned long long>(seq), offset / 1e6,
              offset * 8 / 1e6 / std::chrono::duration<double>(t - t0).count(), write_s, verify_s,
              r.ok ? "verified" : "NOT VERIFIED");
  return r.ok ? 0 : 1;
}
