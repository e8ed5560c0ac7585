// Evidence bundles end to end on real recorded footage: segment files written by SegmentWriter
// from a real H.264 clip, fragment positions from the BMFF scan, a chain made with chain.h and
// checkpoints signed with a generated key. The bundle must verify, play in ffprobe, and every
// alteration (a flipped bit, a fragment removed, added or reordered, an edited manifest, a
// swapped key, an untrusted key) must be caught, naming the first bad fragment.
#include "integrity/bundle.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>

#include "core/error.h"
#include "integrity/verify.h"
#include "record/bmff_scan.h"
#include "segment_fixture.h"
#include "test_support.h"
#include "test_tsa.h"

namespace vigil {
namespace {

const WallTime kT0 = wall_from_ms(1'796'418'000'000);  // 2026-12-04T21:00:00Z

using test::sha256_of_range;
using test::write_test_segment;

// Reads and rewrites members of a bundle, as someone with the file (but not the key) could.
class BundleEditor {
 public:
  explicit BundleEditor(const std::filesystem::path& file) {
    int err = 0;
    z_ = zip_open(file.c_str(), 0, &err);
    if (!z_) throw Error(ErrorCode::kNotFound, "open " + file.string());
  }
  ~BundleEditor() {
    if (z_) zip_discard(z_);
  }
  std::string get(const std::string& name) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z_, name.c_str(), 0, &st) != 0) throw Error(ErrorCode::kNotFound, name);
    zip_file_t* f = zip_fopen(z_, name.c_str(), 0);
    std::string data(st.size, '\0');
    zip_uint64_t got = 0;
    while (got < st.size) {
      zip_int64_t n = zip_fread(f, data.data() + got, st.size - got);
      if (n <= 0) break;
      got += static_cast<zip_uint64_t>(n);
    }
    zip_fclose(f);
    return data;
  }
  void put(const std::string& name, std::string data) {
    kept_.push_back(std::move(data));
    zip_source_t* s = zip_source_buffer(z_, kept_.back().data(), kept_.back().size(), 0);
    ASSERT_GE(zip_file_add(z_, name.c_str(), s, ZIP_FL_OVERWRITE), 0);
  }
  void remove(const std::string& name) {
    ASSERT_EQ(zip_delete(z_, static_cast<zip_uint64_t>(zip_name_locate(z_, name.c_str(), 0))), 0);
  }
  Manifest manifest() {
    ManifestParse p = parse_manifest(get("manifest.json"));
    if (!p.manifest) throw Error(ErrorCode::kDataLoss, p.error);
    return *p.manifest;
  }
  // Writes a changed manifest with chain.tsv to match, as a careful forger would.
  void put_manifest(const Manifest& m) {
    put("manifest.json", manifest_json(m));
    put("chain.tsv", chain_tsv(m));
  }
  void close() {
    ASSERT_EQ(zip_close(z_), 0) << zip_strerror(z_);
    z_ = nullptr;
  }

 private:
  zip_t* z_ = nullptr;
  std::deque<std::string> kept_;
};

class BundleTest : public ::testing::Test {
 protected:
  // Chain of camera "front": sequences 0-4 are the five fragments of segment 1, 5 is a gap of
  // 10 s (camera offline), 6-10 the five fragments of segment 2. Checkpoints signed at 1 (before
  // the range) and 10 (after it). The range is 4 s .. 28 s: fragments 2-4 (part 1) and 6-9
  // (part 2); 10 lies after the range and only links the chain.
  void SetUp() override {
    key_ = generate_key_pair();
    seg1_ = write_test_segment(dir_.path() / "seg1.mp4", 5);
    seg2_ = write_test_segment(dir_.path() / "seg2.mp4", 5);
    input_ = make_input(key_);
  }

  BundleInput make_input(const KeyPair& key) {
    BundleInput in;
    in.camera_id = "front";
    in.camera_name = "Front door";
    in.from = kT0 + std::chrono::seconds(4);
    in.to = kT0 + std::chrono::seconds(28);
    in.exporter = {"alice", kT0 + std::chrono::hours(1), "192.0.2.10"};
    in.audit_entry = {42,       kT0 + std::chrono::hours(1), "alice",
                      "export", "front 21:00:04-21:00:28",   "192.0.2.10",
                      ""};
    in.statement_key = key;
    Sha256 link = kChainGenesis;
    uint64_t seq = 0;
    std::map<uint64_t, Sha256> links;
    auto add_segment = [&](const std::filesystem::path& file, WallTime start, bool new_part) {
      const BmffScan s = scan_fragmented_mp4(file);
      EXPECT_EQ(s.problem, "");
      EXPECT_EQ(s.fragments.size(), 5u);
      const Sha256 init_hash = sha256_of_range(file, 0, s.init_bytes);
      for (size_t i = 0; i < s.fragments.size(); ++i) {
        const ScannedFragment& f = s.fragments[i];
        ChainEntry e{"front",
                     seq,
                     ChainKind::kFragment,
                     start + to_wall(f.decode_start),
                     f.duration,
                     init_hash,
                     sha256_of_range(file, f.offset, f.size),
                     ""};
        link = chain_link(link, e);
        links[seq] = link;
        FileRange bytes{file, f.offset, f.size, ""};
        const WallTime end = e.wall_start + to_wall(e.duration);
        if (end <= in.from || e.wall_start >= in.to) {
          in.link_only.push_back({e, link});
        } else {
          if (new_part) {
            in.parts.push_back({FileRange{file, 0, s.init_bytes, ""}, {}});
            new_part = false;
          }
          in.parts.back().fragments.push_back({e, link, bytes});
        }
        ++seq;
      }
    };
    add_segment(seg1_, kT0, true);
    ChainEntry gap{"front",
                   seq,
                   ChainKind::kGap,
                   kT0 + std::chrono::seconds(10),
                   to_ticks(std::chrono::seconds(10)),
                   {},
                   {},
                   "camera offline: connection refused"};
    link = chain_link(link, gap);
    links[seq++] = link;
    in.link_only.push_back({gap, link});
    add_segment(seg2_, kT0 + std::chrono::seconds(20), true);
    // Entries before the checkpoint at 1 are not part of the bundle.
    std::erase_if(in.link_only, [](const BundleLinkOnly& l) { return l.entry.sequence <= 1; });
    for (uint64_t at : {uint64_t{1}, uint64_t{10}}) {
      Checkpoint c{"front", at, links[at], kT0 + std::chrono::seconds(2 * at + 2), Sha256{7}};
      in.checkpoints.push_back({c, sign(key, checkpoint_message(c)), key.public_key, {}});
    }
    return in;
  }

  std::filesystem::path write(const BundleInput& in, const std::string& name = "bundle.zip") {
    const auto out = dir_.path() / name;
    write_evidence_bundle(in, out);
    return out;
  }

  // The sequence of the first bad entry, or -1 when none is named.
  static int64_t first_bad(const VerifyReport& r) {
    if (!r.first_bad_entry || !r.manifest) return -1;
    return static_cast<int64_t>(r.manifest->entries[*r.first_bad_entry].entry.sequence);
  }

  test::TempDir dir_;
  KeyPair key_;
  std::filesystem::path seg1_, seg2_;
  BundleInput input_;
};

TEST_F(BundleTest, AnIntactBundleVerifiesAndItsClipsPlay) {
  // With a file beside the footage, as a bundle of a camera a till watches has (the browser
  // test checks this bundle too).
  input_.attachments = {{"transactions.json", "transactions",
                         "{\"format\": \"vigil-transactions-1\", \"tills\": []}\n"}};
  const auto bundle = write(input_);
  // VIGIL_KEEP_BUNDLE=FILE keeps a copy, to follow VERIFY.txt by hand or seed the fuzzer.
  if (const char* keep = std::getenv("VIGIL_KEEP_BUNDLE")) {
    std::filesystem::copy_file(bundle, keep, std::filesystem::copy_options::overwrite_existing);
  }
  const VerifyReport r = verify_evidence_bundle(bundle, key_fingerprint(key_.public_key));
  EXPECT_TRUE(r.ok) << format_verify_report(r, std::nullopt);
  EXPECT_TRUE(r.statement_signed);
  EXPECT_EQ(r.fragments, 7u);  // 2-4 and 6-9
  ASSERT_TRUE(r.manifest);
  EXPECT_EQ(r.manifest->parts.size(), 2u);
  EXPECT_EQ(r.manifest->entries.size(), 9u);  // 2 .. 10
  ASSERT_EQ(r.manifest->gaps.size(), 1u);
  EXPECT_EQ(r.manifest->gaps[0].reason, "camera offline: connection refused");
  const std::string report = format_verify_report(r, key_fingerprint(key_.public_key));
  EXPECT_NE(report.find("VERIFIED"), std::string::npos);
  EXPECT_NE(report.find("2026-12-04T21:00:04.000Z"), std::string::npos);
  EXPECT_NE(report.find("(the trusted key)"), std::string::npos);

  // The clips are the original bytes: the init part and fragments 2-4 of segment 1, byte for
  // byte, and a player reads every frame of them (7 fragments of 20 frames).
  const auto out = dir_.path() / "unzipped";
  ASSERT_EQ(test::run("unzip -q " + bundle.string() + " -d " + out.string()), 0);
  const BmffScan s1 = scan_fragmented_mp4(seg1_);
  const auto clip1 = out / "clip-1.mp4";
  EXPECT_EQ(std::filesystem::file_size(clip1),
            s1.init_bytes + s1.fragments[2].size + s1.fragments[3].size + s1.fragments[4].size);
  EXPECT_EQ(sha256_of_range(clip1, s1.init_bytes, s1.fragments[2].size),
            sha256_of_range(seg1_, s1.fragments[2].offset, s1.fragments[2].size));
  for (const auto& [clip, frames] :
       {std::pair{"clip-1.mp4", "60"}, std::pair{"clip-2.mp4", "80"}}) {
    const auto counted = out / (std::string(clip) + ".frames");
    ASSERT_EQ(test::run("ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                        "stream=nb_read_frames -of csv=p=0 " +
                        (out / clip).string() + " > " + counted.string()),
              0);
    std::ifstream in(counted);
    std::string n;
    in >> n;
    EXPECT_EQ(n, frames) << clip;
  }
  // openssl reads the key and signatures as VERIFY.txt says.
  EXPECT_EQ(test::run("cd " + out.string() +
                      " && openssl pkeyutl -verify -pubin -inkey key.pem "
                      "-rawin -in checkpoints/2.msg -sigfile checkpoints/2.sig >/dev/null && "
                      "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in export.msg "
                      "-sigfile export.sig >/dev/null"),
            0);
}

TEST_F(BundleTest, AFlippedBitInTheVideoNamesItsFragment) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    const Manifest m = e.manifest();
    const ManifestEntry& target = m.entries[6];  // sequence 8, in clip-2.mp4
    ASSERT_EQ(target.entry.sequence, 8u);
    std::string clip = e.get("clip-2.mp4");
    clip[target.offset + target.bytes / 2] ^= 0x10;
    e.put("clip-2.mp4", clip);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 8);
  EXPECT_NE(
      format_verify_report(r, std::nullopt).find("fragment sequence 8 at 2026-12-04T21:00:24.000Z"),
      std::string::npos)
      << format_verify_report(r, std::nullopt);
}

TEST_F(BundleTest, AFlippedBitInTheInitSegmentNamesThePartsFirstFragment) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    std::string clip = e.get("clip-1.mp4");
    clip[100] ^= 0x01;
    e.put("clip-1.mp4", clip);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 2);
}

TEST_F(BundleTest, FragmentBytesRemovedFromTheClipAreCaught) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    const Manifest m = e.manifest();
    const ManifestEntry& gone = m.entries[1];  // sequence 3
    std::string clip = e.get("clip-1.mp4");
    clip.erase(gone.offset, gone.bytes);
    e.put("clip-1.mp4", clip);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 3);
}

TEST_F(BundleTest, AFragmentRemovedFromClipAndManifestBreaksTheChain) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    Manifest m = e.manifest();
    const ManifestEntry gone = m.entries[1];  // sequence 3
    std::string clip = e.get("clip-1.mp4");
    clip.erase(gone.offset, gone.bytes);
    m.entries.erase(m.entries.begin() + 1);
    m.entries[1].offset -= gone.bytes;  // sequence 4 moves up
    m.parts[0].bytes -= gone.bytes;
    e.put("clip-1.mp4", clip);
    e.put_manifest(m);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 4) << format_verify_report(r, std::nullopt);
}

TEST_F(BundleTest, AnAddedFragmentIsCaught) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    Manifest m = e.manifest();
    // A copy of fragment 3 inserted after it, in the clip and in the manifest (renumbered and
    // relinked as a forger without the key would).
    const ManifestEntry copy = m.entries[1];
    std::string clip = e.get("clip-1.mp4");
    clip.insert(copy.offset + copy.bytes, clip.substr(copy.offset, copy.bytes));
    ManifestEntry added = copy;
    added.offset = copy.offset + copy.bytes;
    added.entry.sequence = 4;
    added.entry.wall_start += std::chrono::seconds(2);
    added.canonical = canonical_chain_entry(added.entry);
    m.entries.insert(m.entries.begin() + 2, added);
    Sha256 link = m.entries[0].link;
    for (size_t i = 1; i < m.entries.size(); ++i) {
      ManifestEntry& me = m.entries[i];
      if (i > 2) {
        me.entry.sequence += 1;
        me.canonical = canonical_chain_entry(me.entry);
      }
      if (me.part == 1 && i > 2) me.offset += copy.bytes;
      link = chain_link_of_canonical(link, me.canonical);
      me.link = link;
    }
    m.parts[0].bytes += copy.bytes;
    m.gaps = gaps_of(m.entries);
    e.put("clip-1.mp4", clip);
    e.put_manifest(m);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  // The chain no longer reaches the signed head at sequence 10, which is now the former 9.
  EXPECT_EQ(first_bad(r), 10) << format_verify_report(r, std::nullopt);
}

TEST_F(BundleTest, ReorderedFragmentsAreCaught) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    Manifest m = e.manifest();
    // Fragments 3 and 4 swapped in the clip and in the manifest.
    ManifestEntry a = m.entries[1], b = m.entries[2];
    std::string clip = e.get("clip-1.mp4");
    const std::string bytes_a = clip.substr(a.offset, a.bytes),
                      bytes_b = clip.substr(b.offset, b.bytes);
    clip.replace(a.offset, a.bytes + b.bytes, bytes_b + bytes_a);
    b.offset = a.offset;
    a.offset = b.offset + b.bytes;
    m.entries[1] = b;
    m.entries[2] = a;
    e.put("clip-1.mp4", clip);
    e.put_manifest(m);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 4) << format_verify_report(r, std::nullopt);  // 4 follows 2
}

TEST_F(BundleTest, AnEditedManifestFieldIsCaught) {
  const auto bundle = write(input_);
  {
    BundleEditor e(bundle);
    Manifest m = e.manifest();
    m.entries[5].entry.wall_start += std::chrono::minutes(5);  // sequence 7 "happened later"
    e.put_manifest(m);
    e.close();
  }
  VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(first_bad(r), 7) << format_verify_report(r, std::nullopt);

  // A field no chain entry covers (who exported it) is covered by the signed export statement.
  const auto second = write(input_, "second.zip");
  {
    BundleEditor e(second);
    Manifest m = e.manifest();
    m.exporter.user = "mallory";
    e.put_manifest(m);
    e.close();
  }
  r = verify_evidence_bundle(second, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(format_verify_report(r, std::nullopt).find("export.msg is not the statement of this"),
            std::string::npos);
}

// A file beside the footage (an evidence bundle's transactions.json) is covered like the clips:
// its hash is in the manifest, which the export statement signs; changing it, removing it, or
// removing it with its manifest line is caught, naming the file.
TEST_F(BundleTest, AnAttachedFileIsCoveredByTheManifestAndItsSignature) {
  // Without attachments the manifest says nothing of them (bundles read as they did before).
  EXPECT_EQ(bundle_manifest(input_).attachments.size(), 0u);
  EXPECT_EQ(manifest_json(bundle_manifest(input_)).find("attachments"), std::string::npos);

  const std::string content = "{\"tills\": [{\"id\": \"t1\", \"transactions\": []}]}\n";
  input_.attachments = {{"transactions.json", "transactions", content}};
  const auto bundle = write(input_);
  VerifyReport r = verify_evidence_bundle(bundle, key_fingerprint(key_.public_key));
  EXPECT_TRUE(r.ok) << format_verify_report(r, std::nullopt);
  ASSERT_TRUE(r.manifest);
  ASSERT_EQ(r.manifest->attachments.size(), 1u);
  const ManifestAttachment& a = r.manifest->attachments[0];
  EXPECT_EQ(a.file, "transactions.json");
  EXPECT_EQ(a.kind, "transactions");
  EXPECT_EQ(a.bytes, content.size());
  Sha256Hasher h;
  h.update(reinterpret_cast<const uint8_t*>(content.data()), content.size());
  EXPECT_EQ(a.sha256, h.finish());
  EXPECT_NE(format_verify_report(r, std::nullopt).find("attached:    transactions.json"),
            std::string::npos);
  EXPECT_EQ(BundleEditor(bundle).get("transactions.json"), content);

  auto problems = [](const VerifyReport& v) {
    std::string all;
    for (const VerifyProblem& p : v.problems) all += p.message + "\n";
    return all;
  };
  // One character changed.
  std::filesystem::copy_file(bundle, dir_.path() / "edited.zip");
  {
    BundleEditor e(dir_.path() / "edited.zip");
    std::string edited = content;
    edited[edited.find("t1")] = 'x';
    e.put("transactions.json", edited);
    e.close();
  }
  r = verify_evidence_bundle(dir_.path() / "edited.zip", std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(problems(r), "transactions.json was altered: its bytes do not hash to the SHA-256 "
                         "manifest.json gives it\n");
  // Removed.
  std::filesystem::copy_file(bundle, dir_.path() / "removed.zip");
  {
    BundleEditor e(dir_.path() / "removed.zip");
    e.remove("transactions.json");
    e.close();
  }
  r = verify_evidence_bundle(dir_.path() / "removed.zip", std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(problems(r), "transactions.json is missing (manifest.json lists it)\n");
  // Removed with its line in the manifest: the export statement no longer holds.
  std::filesystem::copy_file(bundle, dir_.path() / "unlisted.zip");
  {
    BundleEditor e(dir_.path() / "unlisted.zip");
    Manifest m = e.manifest();
    m.attachments.clear();
    e.remove("transactions.json");
    e.put_manifest(m);
    e.close();
  }
  r = verify_evidence_bundle(dir_.path() / "unlisted.zip", std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(problems(r).find("export.msg is not the statement of this manifest.json"),
            std::string::npos);

  // A name that would shadow the bundle's own files is refused by writer and parser alike.
  input_.attachments = {{"manifest.json", "transactions", content}};
  EXPECT_THROW(write(input_, "bad.zip"), Error);
  for (const char* bad : {"../x.json", "clip-3.mp4", ".hidden", "a/b.json", "key.pem", ""}) {
    EXPECT_FALSE(valid_attachment_name(bad)) << bad;
  }
  Manifest m = bundle_manifest(input_);
  m.attachments[0].file = "checkpoints/1.msg";
  EXPECT_FALSE(parse_manifest(manifest_json(m)).manifest);
}

TEST_F(BundleTest, ASwappedKeyFailsTheSignatures) {
  const auto bundle = write(input_);
  {
    // Another key's PEM put in place of the recorder's: the signatures no longer verify.
    BundleEditor e(bundle);
    Manifest m = e.manifest();
    const KeyPair other = generate_key_pair();
    const std::string fp = key_fingerprint(other.public_key);
    m.keys = {{fp, public_key_pem(other.public_key)}};
    for (ManifestCheckpoint& c : m.checkpoints) c.key_fingerprint = fp;
    e.put("key.pem", m.keys[0].pem);
    e.put_manifest(m);
    e.close();
  }
  const VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(format_verify_report(r, std::nullopt).find("signature does not verify"),
            std::string::npos);
}

TEST_F(BundleTest, ABundleReSignedWithAnotherKeyFailsOnlyAgainstTheTrustedFingerprint) {
  // Someone with the footage but not the recorder's key rebuilds and re-signs the whole bundle.
  const KeyPair forger = generate_key_pair();
  const auto forged = write(make_input(forger), "forged.zip");
  // Internally consistent, so without a trusted fingerprint it holds...
  EXPECT_TRUE(verify_evidence_bundle(forged, std::nullopt).ok);
  // ...but against the recorder's fingerprint every signature is by the wrong key.
  const std::string trusted = key_fingerprint(key_.public_key);
  const VerifyReport r = verify_evidence_bundle(forged, trusted);
  EXPECT_FALSE(r.ok);
  const std::string report = format_verify_report(r, trusted);
  EXPECT_NE(report.find("not the trusted key " + trusted), std::string::npos) << report;
  EXPECT_NE(report.find("(NOT the trusted key)"), std::string::npos);
  // And the genuine bundle against a fingerprint that is not its key.
  EXPECT_FALSE(verify_evidence_bundle(write(input_), key_fingerprint(forger.public_key)).ok);
}

TEST_F(BundleTest, AnEntryCutFromTheMiddleOfTheRangeIsCaught) {
  // The writer is given the chain without fragment 7 (as if the catalog had lost it).
  BundleInput in = input_;
  auto& fragments = in.parts[1].fragments;
  fragments.erase(fragments.begin() + 1);
  EXPECT_THROW(write(in), Error);
}

TEST_F(BundleTest, AFragmentAlteredOnDiskStopsTheExport) {
  const BmffScan s = scan_fragmented_mp4(seg2_);
  {
    std::fstream f(seg2_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(s.fragments[2].offset + 500));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(s.fragments[2].offset + 500));
    c ^= 0x04;
    f.write(&c, 1);
  }
  try {
    write(input_);
    FAIL() << "an altered fragment was exported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("fragment 8"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "bundle.zip"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "bundle.zip.partial"));
}

TEST_F(BundleTest, RFC3161TokensAreCheckedForTheirCheckpointAndAgainstTheTsaCa) {
  test::Tsa tsa(dir_.path() / "tsa");
  BundleCheckpoint& after = input_.checkpoints[1];
  after.tsa_token = tsa.token(checkpoint_message(after.checkpoint));
  ASSERT_FALSE(after.tsa_token.empty());
  const auto bundle = write(input_);
  VerifyReport r = verify_evidence_bundle(bundle, std::nullopt);
  EXPECT_TRUE(r.ok) << format_verify_report(r, std::nullopt);
  EXPECT_EQ(r.tsa_tokens, 1u);
  ASSERT_EQ(r.tsa_times.size(), 2u);
  EXPECT_TRUE(r.tsa_times[1].has_value());
  EXPECT_NE(format_verify_report(r, std::nullopt).find("signed by the certificate it carries"),
            std::string::npos);
  r = verify_evidence_bundle(bundle, std::nullopt, tsa.ca());
  EXPECT_TRUE(r.ok) << format_verify_report(r, std::nullopt);
  EXPECT_NE(format_verify_report(r, std::nullopt).find("(TSA signature checked against the CA)"),
            std::string::npos);

  // A token altered after the TSA signed it (the last bit of its DER is its signature's), in a
  // bundle otherwise intact and signed by the recorder: the token's own certificate no longer
  // verifies it, with or without a CA. The imprint alone would not have seen it.
  BundleInput altered = input_;
  altered.checkpoints[1].tsa_token.back() ^= 0x01;
  const auto altered_bundle = write(altered, "altered-token.zip");
  r = verify_evidence_bundle(altered_bundle, key_fingerprint(key_.public_key));
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.problems.size(), 1u) << format_verify_report(r, std::nullopt);
  EXPECT_EQ(r.problems[0].message,
            "checkpoint 2: the RFC 3161 token's signature does not verify with the certificate "
            "it carries: the token was altered");
  EXPECT_FALSE(verify_evidence_bundle(altered_bundle, std::nullopt, tsa.ca()).ok);
  // VIGIL_KEEP_TSA_BUNDLES=DIR keeps both (tsa-intact.zip, tsa-altered.zip) for the browser's
  // verify page test (tests/integration/test_webui_verify.py), which must reach the same verdicts.
  if (const char* keep = std::getenv("VIGIL_KEEP_TSA_BUNDLES")) {
    const auto opts = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(bundle, std::filesystem::path(keep) / "tsa-intact.zip", opts);
    std::filesystem::copy_file(altered_bundle, std::filesystem::path(keep) / "tsa-altered.zip",
                               opts);
  }

  // Against another CA the token's signer is not vouched for.
  test::Tsa other(dir_.path() / "other");
  r = verify_evidence_bundle(bundle, std::nullopt, other.ca());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(format_verify_report(r, std::nullopt).find("not signed by a TSA that"),
            std::string::npos);

  // A genuine token for another message (the checkpoint before) does not vouch for this one.
  BundleInput moved = input_;
  moved.checkpoints[1].tsa_token = tsa.token(checkpoint_message(moved.checkpoints[0].checkpoint));
  r = verify_evidence_bundle(write(moved, "moved.zip"), std::nullopt, tsa.ca());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(format_verify_report(r, std::nullopt).find("not for this checkpoint's message"),
            std::string::npos);
}

TEST(BundleVerify, GarbageIsAVerdictNotACrash) {
  test::TempDir dir;
  const auto file = dir.path() / "garbage.zip";
  std::ofstream(file) << "PK\x03\x04 not really a zip";
  const VerifyReport r = verify_evidence_bundle(file, std::nullopt);
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].message.find("not a readable ZIP"), std::string::npos);
  EXPECT_FALSE(parse_manifest("{\"format\": 1}").manifest);
  EXPECT_FALSE(parse_manifest("[]").manifest);
  EXPECT_FALSE(parse_manifest("{").manifest);
}

}  // namespace
}  // namespace vigil
