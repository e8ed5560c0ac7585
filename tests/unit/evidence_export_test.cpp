// Evidence export from the catalog (record/evidence_export.h): a real catalog holding two real
// segment files (written by SegmentWriter from an H.264 clip), the chain rows the recorder
// would have written for them with a gap between, and signed checkpoints. The plan must pick
// the fragments that overlap the range (edges included), split parts at the gap and at the file
// change, link from the checkpoint before the range to the one at or after it, trim what no
// checkpoint signs yet, and the bundle written from it must verify. Also ISO 8601 parsing for
// `vigil export`.
#include "record/evidence_export.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "catalog/sqlite.h"
#include "core/error.h"
#include "core/time_parse.h"
#include "integrity/key_store.h"
#include "integrity/verify.h"
#include "record/bmff_scan.h"
#include "record/fragment_index.h"
#include "segment_fixture.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'796'418'000'000);  // 2026-12-04T21:00:00Z

using test::sha256_of_range;
using test::write_test_segment;

class EvidenceExportTest : public ::testing::Test {
 protected:
  // Camera "front": entries 0-4 are the five 2 s fragments of a segment at 21:00:00, 5 a gap
  // of 10 s (camera offline), 6-10 the fragments of a segment at 21:00:20. Checkpoints are
  // added by each test.
  void SetUp() override {
    key_ = load_or_create_signing_key(dir_.path());
    catalog_.add_signing_key({key_fingerprint(key_.public_key), public_key_pem(key_.public_key),
                              kT0});
    add_segment("recordings/front/a.mp4", kT0);
    ChainEntry gap{"front", 0, ChainKind::kGap, kT0 + seconds(10), to_ticks(seconds(10)),
                   {},      {}, "camera offline: connection refused"};
    append(gap, 0, -1);
    add_segment("recordings/front/b.mp4", kT0 + seconds(20));
  }

  void add_segment(const std::string& rel, WallTime start) {
    const auto file = dir_.path() / rel;
    std::filesystem::create_directories(file.parent_path());
    write_test_segment(file, 5);
    const BmffScan s = scan_fragmented_mp4(file);
    ASSERT_EQ(s.fragments.size(), 5u);
    const int64_t id = catalog_.begin_segment({"front", rel, start, "h264", 320, 240, false});
    std::vector<Fragment> index;
    const Sha256 init_hash = sha256_of_range(file, 0, s.init_bytes);
    Ticks90k duration{0};
    for (size_t i = 0; i < s.fragments.size(); ++i) {
      const ScannedFragment& f = s.fragments[i];
      index.push_back({f.offset, f.size, f.decode_start, f.duration, {}});
      duration += f.duration;
      append({"front", 0, ChainKind::kFragment, start + to_wall(f.decode_start), f.duration,
              init_hash, sha256_of_range(file, f.offset, f.size), ""},
             id, static_cast<int64_t>(i));
    }
    ClosedSegment c;
    c.wall_end = start + to_wall(duration);
    c.media_duration = duration;
    c.bytes = std::filesystem::file_size(file);
    c.init_bytes = s.init_bytes;
    c.fragment_index = encode_fragment_index(index);
    c.sha256 = std::vector<uint8_t>(32, 1);
    c.close_reason = "duration";
    catalog_.close_segment(id, c);
  }

  void append(ChainEntry e, int64_t segment, int64_t position) {
    const ChainRow row = next_chain_row(catalog_.chain_head("front"), std::move(e), segment,
                                        position);
    catalog_.append_chain(row);
    links_[row.entry.sequence] = row.link;
  }

  void checkpoint(uint64_t seq) {
    CheckpointRow c;
    c.checkpoint = {"front", seq, links_.at(seq), kT0 + seconds(2 * seq + 2), Sha256{}};
    c.key_fingerprint = key_fingerprint(key_.public_key);
    c.signature = sign(key_, checkpoint_message(c.checkpoint));
    catalog_.add_checkpoint(c);
  }

  EvidencePlan plan(int from_s, int to_s) {
    return plan_evidence_bundle(catalog_, dir_.path(), "front", "Front door",
                                kT0 + seconds(from_s), kT0 + seconds(to_s));
  }

  // Writes the bundle of `p` and verifies it against the key.
  VerifyReport write_and_verify(EvidencePlan p) {
    p.input.exporter = {"alice", kT0 + std::chrono::hours(1), "192.0.2.10"};
    p.input.audit_entry = {7, kT0 + std::chrono::hours(1), "alice", "evidence_export", "", "192.0.2.10", ""};
    p.input.statement_key = key_;
    const auto out = dir_.path() / "bundle.zip";
    write_evidence_bundle(p.input, out);
    return verify_evidence_bundle(out, key_fingerprint(key_.public_key));
  }

  static std::vector<uint64_t> sequences(const BundlePart& part) {
    std::vector<uint64_t> out;
    for (const auto& f : part.fragments) out.push_back(f.entry.sequence);
    return out;
  }

  static std::string problems(const VerifyReport& r) {
    std::string out;
    for (const auto& p : r.problems) out += p.message + "\n";
    return out;
  }

  test::TempDir dir_;
  Catalog catalog_{dir_.path() / "vigil.db"};
  KeyPair key_;
  std::map<uint64_t, Sha256> links_;
};

TEST_F(EvidenceExportTest, ARangeAcrossTheGapIsTwoPartsLinkedBetweenTwoCheckpoints) {
  checkpoint(1);
  checkpoint(10);
  // 5 s .. 27 s: fragment 2 (4-6 s) overlaps the start, 9 (26-28 s) the end.
  const EvidencePlan p = plan(5, 27);
  ASSERT_EQ(p.input.parts.size(), 2u);
  EXPECT_EQ(sequences(p.input.parts[0]), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(sequences(p.input.parts[1]), (std::vector<uint64_t>{6, 7, 8, 9}));
  EXPECT_EQ(p.fragments, 7u);
  EXPECT_EQ(p.footage_start, kT0 + seconds(4));
  EXPECT_EQ(p.footage_end, kT0 + seconds(28));
  EXPECT_EQ(p.note, "");
  // The gap and entry 10 (after the range, up to the checkpoint) only link the chain.
  std::vector<uint64_t> link_only;
  for (const auto& l : p.input.link_only) link_only.push_back(l.entry.sequence);
  EXPECT_EQ(link_only, (std::vector<uint64_t>{5, 10}));
  ASSERT_EQ(p.input.checkpoints.size(), 2u);
  EXPECT_EQ(p.input.checkpoints[0].checkpoint.sequence, 1u);
  EXPECT_EQ(p.input.checkpoints[1].checkpoint.sequence, 10u);
  EXPECT_EQ(p.input.checkpoints[1].key, key_.public_key);
  EXPECT_EQ(p.input.parts[0].fragments[0].bytes.file, dir_.path() / "recordings/front/a.mp4");
  const VerifyReport r = write_and_verify(p);
  EXPECT_TRUE(r.ok) << problems(r);
  EXPECT_EQ(r.fragments, 7u);
}

TEST_F(EvidenceExportTest, EdgesTouchingAFragmentLeaveItOutAndTheChainStartsAtTheGenesis) {
  checkpoint(4);
  checkpoint(10);
  // [2 s, 6 s): fragments 1 and 2; fragment 0 ends at 2 s and 3 starts at 6 s. No checkpoint
  // before entry 1: the chain runs from the genesis (entry 0 links only).
  const EvidencePlan p = plan(2, 6);
  ASSERT_EQ(p.input.parts.size(), 1u);
  EXPECT_EQ(sequences(p.input.parts[0]), (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(p.input.checkpoints.size(), 1u);
  EXPECT_EQ(p.input.checkpoints[0].checkpoint.sequence, 4u);
  std::vector<uint64_t> link_only;
  for (const auto& l : p.input.link_only) link_only.push_back(l.entry.sequence);
  EXPECT_EQ(link_only, (std::vector<uint64_t>{0, 3, 4}));
  const VerifyReport r = write_and_verify(p);
  EXPECT_TRUE(r.ok) << problems(r);
}

TEST_F(EvidenceExportTest, FootageAfterTheNewestCheckpointIsLeftOutAndSaidSo) {
  checkpoint(1);
  checkpoint(7);
  const EvidencePlan p = plan(4, 30);
  ASSERT_EQ(p.input.parts.size(), 2u);
  EXPECT_EQ(sequences(p.input.parts[1]), (std::vector<uint64_t>{6, 7}));
  EXPECT_EQ(p.footage_end, kT0 + seconds(24));
  EXPECT_NE(p.note.find("not signed by a checkpoint yet"), std::string::npos) << p.note;
  EXPECT_NE(p.note.find("2026-12-04T21:00:24.000Z"), std::string::npos) << p.note;
  const VerifyReport r = write_and_verify(p);
  EXPECT_TRUE(r.ok) << problems(r);
}

TEST_F(EvidenceExportTest, NothingSignedOrNothingRecordedIsAnErrorNamingTheRange) {
  checkpoint(1);
  try {
    plan(22, 26);
    FAIL() << "no checkpoint covers entries 7-8";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("camera front"), std::string::npos) << e.what();
  }
  try {
    plan(12, 18);  // inside the gap
    FAIL() << "no footage in the gap";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST_F(EvidenceExportTest, AChainWithAMissingRowIsRefused) {
  checkpoint(1);
  checkpoint(10);
  // The rows are append-only for vigil, but the file is not: a row deleted by hand.
  sql::SqliteConnection db((dir_.path() / "vigil.db").string());
  db.exec("DELETE FROM chain_entry WHERE sequence = 5");
  try {
    plan(4, 24);
    FAIL() << "entry 5 is missing";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("entries were removed"), std::string::npos) << e.what();
  }
}

TEST(Iso8601, ParsesZonesAndRefusesTimesWithout) {
  EXPECT_EQ(parse_iso8601("2026-12-04T21:00:00Z"), kT0);
  EXPECT_EQ(parse_iso8601("2026-12-04T22:00:00+01:00"), kT0);
  EXPECT_EQ(parse_iso8601("2026-12-04T16:30:00-0430"), kT0);
  EXPECT_EQ(parse_iso8601("2026-12-04 21:00:00.250Z"), kT0 + std::chrono::milliseconds(250));
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00Z"), wall_from_ms(1'709'164'800'000));
  for (const char* bad : {"2026-12-04T21:00:00", "2026-12-04", "yesterday", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-12-04T21:00:00Zjunk", "",
                          "2026-12-04T21:00:00+1"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

}  // namespace
}  // namespace vigil
