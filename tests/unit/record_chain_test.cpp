// The recording side of the integrity chain (docs/design/integrity.md): the segment writer's
// per-part hashes, the chain the recorder extends across files, restarts and crashes, signed
// checkpoints and key rotation, and `vigil check` finding every kind of alteration.
#include <gtest/gtest.h>

#include "integrity/chain.h"
#include "record/bmff_scan.h"
#include "record/segment_writer.h"
#include "test_support.h"

namespace vigil {
namespace {

using test::TempDir;

// The hashes come from the bytes as they were written; they must equal the bytes on disk.
TEST(SegmentWriterHashes, InitAndEveryFragmentHashAsOnDisk) {
  TempDir dir;
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  const auto file = dir.path() / "seg.mp4";
  SegmentWriter w(file, *clip.info);
  std::vector<Fragment> fragments;
  for (size_t i = 0; i < 60; ++i) {
    PacketPtr p = make_packet();
    av_packet_ref(p.get(), clip.video[i].get());
    if (i > 0 && (p->flags & AV_PKT_FLAG_KEY)) fragments.push_back(*w.flush_fragment());
    p->dts = p->pts = static_cast<int64_t>(i) * 9000;
    p->duration = 9000;
    w.write(p.get(), TrackKind::kVideo);
  }
  fragments.push_back(*w.flush_fragment());
  const Sha256 whole = w.finish();
  ASSERT_EQ(fragments.size(), 3u);
  std::vector<uint64_t> sizes{w.init_bytes()};
  for (const Fragment& f : fragments) sizes.push_back(f.size);
  const auto parts = sha256_file_parts(file, sizes);
  EXPECT_EQ(parts[0], w.init_hash());
  for (size_t i = 0; i < fragments.size(); ++i) EXPECT_EQ(parts[i + 1], fragments[i].sha256) << i;
  EXPECT_NE(fragments[0].sha256, fragments[1].sha256);
  EXPECT_EQ(whole, sha256_file(file));  // the whole-file hash is unchanged by the parts
}

}  // namespace
}  // namespace vigil
