// The recording side of the integrity chain (docs/design/integrity.md): the segment writer's
// per-part hashes, the chain the recorder extends across files, restarts and crashes, signed
// checkpoints and key rotation, and `vigil check` finding every kind of alteration.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "core/error.h"
#include "integrity/chain.h"
#include "integrity/key_store.h"
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
  const Sha256 segment_hash = w.finish();
  ASSERT_EQ(fragments.size(), 3u);
  const std::vector<uint64_t> sizes = part_sizes(w.init_bytes(), fragments);
  const auto parts = sha256_file_parts(file, sizes);
  EXPECT_EQ(parts[0], w.init_hash());
  for (size_t i = 0; i < fragments.size(); ++i) EXPECT_EQ(parts[i + 1], fragments[i].sha256) << i;
  EXPECT_NE(fragments[0].sha256, fragments[1].sha256);
  // The segment's hash is the hash list of the parts as read back, not of the whole file.
  EXPECT_EQ(segment_hash, part_list_hash(parts));
  EXPECT_NE(segment_hash, sha256_file(file));
  const std::vector<uint8_t> recorded(segment_hash.begin(), segment_hash.end());
  EXPECT_TRUE(segment_hash_matches(file, sizes, recorded));
  // A row written before the hash list (the whole file's SHA-256) still matches.
  const Sha256 whole = sha256_file(file);
  EXPECT_TRUE(segment_hash_matches(file, sizes, std::vector<uint8_t>(whole.begin(), whole.end())));
  // One flipped byte in the last fragment: neither form matches.
  {
    std::FILE* f = std::fopen(file.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(fragments.back().offset + fragments.back().size - 1), SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, -1, SEEK_CUR);
    std::fputc(c ^ 1, f);
    std::fclose(f);
  }
  EXPECT_FALSE(segment_hash_matches(file, sizes, recorded));
  EXPECT_FALSE(segment_hash_matches(file, sizes, std::vector<uint8_t>(whole.begin(), whole.end())));
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(KeyStore, CreatesAnOwnerOnlyKeyOnceAndRotatesKeepingOldKeysValid) {
  TempDir dir;
  const KeyPair first = load_or_create_signing_key(dir.path());
  EXPECT_EQ(mode_of(dir.path() / "keys"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "keys" / "key-1.seed"), 0600u);
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "keys" / "key-1.seed"), 32u);
  // The next start loads the same key.
  EXPECT_EQ(load_or_create_signing_key(dir.path()).public_key, first.public_key);

  Checkpoint c;
  c.camera_id = "cam";
  c.sequence = 7;
  c.head[0] = 1;
  c.wall_time = wall_from_ms(1'790'000'000'000);
  const Signature old_sig = sign(first, checkpoint_message(c));

  const KeyPair second = rotate_signing_key(dir.path());
  EXPECT_NE(second.public_key, first.public_key);
  EXPECT_EQ(load_or_create_signing_key(dir.path()).public_key, second.public_key);
  const auto keys = stored_public_keys(dir.path());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].public_key, first.public_key);
  EXPECT_EQ(keys[0].fingerprint, key_fingerprint(first.public_key));
  EXPECT_EQ(keys[1].public_key, second.public_key);
  // What the old key signed still verifies with it, and with no other key.
  EXPECT_TRUE(verify_signature(keys[0].public_key, checkpoint_message(c), old_sig));
  EXPECT_FALSE(verify_signature(keys[1].public_key, checkpoint_message(c), old_sig));
}

TEST(KeyStore, RefusesAPrivateKeyOthersCanRead) {
  TempDir dir;
  load_or_create_signing_key(dir.path());
  ::chmod((dir.path() / "keys" / "key-1.seed").c_str(), 0644);
  EXPECT_THROW(load_or_create_signing_key(dir.path()), Error);
}

}  // namespace
}  // namespace vigil
