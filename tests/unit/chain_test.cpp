// The evidence formats (integrity/chain.h): encodings round-trip and reject anything else, links
// chain, and what we sign and publish is checked by standard OpenSSL command-line tools — the
// promise of docs/design/integrity.md is that a verifier needs nothing from vigil.
#include "integrity/chain.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "test_support.h"

namespace vigil {
namespace {

ChainEntry fragment_entry(uint64_t seq) {
  ChainEntry e;
  e.camera_id = "front-door";
  e.sequence = seq;
  e.kind = ChainKind::kFragment;
  e.wall_start = wall_from_ms(1'796'000'000'000 + static_cast<int64_t>(seq) * 2000);
  e.duration = Ticks90k{180'000};
  e.init_hash.fill(0x11);
  e.fragment_hash.fill(static_cast<uint8_t>(seq));
  return e;
}

void write_file(const std::filesystem::path& p, const uint8_t* data, size_t n) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(data),
                                           static_cast<std::streamsize>(n));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Chain, EntryEncodingIsFixedAndRoundTrips) {
  ChainEntry e = fragment_entry(7);
  Bytes b = canonical_chain_entry(e);
  // version, kind, u16 len "front-door", u64 seq, i64 ms, i64 ticks, 2×32 hashes, u16 note len.
  ASSERT_EQ(b.size(), 1u + 1 + 2 + 10 + 8 + 8 + 8 + 64 + 2);
  EXPECT_EQ(hex(b.data(), 14), "0101000a66726f6e742d646f6f72");
  EXPECT_EQ(hex(b.data() + 14, 8), "0000000000000007");
  auto back = parse_chain_entry(b.data(), b.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(canonical_chain_entry(*back), b);

  ChainEntry gap;
  gap.camera_id = "front-door";
  gap.sequence = 8;
  gap.kind = ChainKind::kGap;
  gap.wall_start = wall_from_ms(1'796'000'016'000);
  gap.duration = Ticks90k{90'000 * 60};
  gap.note = "camera offline: connection refused";
  Bytes g = canonical_chain_entry(gap);
  auto gback = parse_chain_entry(g.data(), g.size());
  ASSERT_TRUE(gback);
  EXPECT_EQ(gback->note, gap.note);
  EXPECT_EQ(gback->kind, ChainKind::kGap);
}

TEST(Chain, ParserRejectsEverythingElse) {
  Bytes b = canonical_chain_entry(fragment_entry(1));
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(parse_chain_entry(b.data(), n)) << n;
  Bytes longer = b;
  longer.push_back(0);
  EXPECT_FALSE(parse_chain_entry(longer.data(), longer.size()));
  Bytes bad_version = b;
  bad_version[0] = 2;
  EXPECT_FALSE(parse_chain_entry(bad_version.data(), bad_version.size()));
  Bytes bad_kind = b;
  bad_kind[1] = 9;
  EXPECT_FALSE(parse_chain_entry(bad_kind.data(), bad_kind.size()));
}

TEST(Chain, LinksDependOnEverythingBefore) {
  Sha256 link = kChainGenesis;
  std::vector<Sha256> links;
  for (uint64_t i = 0; i < 5; ++i) links.push_back(link = chain_link(link, fragment_entry(i)));
  // The same entries give the same links; one changed byte anywhere changes every later link.
  Sha256 again = kChainGenesis;
  for (uint64_t i = 0; i < 5; ++i) again = chain_link(again, fragment_entry(i));
  EXPECT_EQ(again, links[4]);
  ChainEntry altered = fragment_entry(2);
  altered.fragment_hash[31] ^= 1;
  Sha256 l = chain_link(links[1], altered);
  EXPECT_NE(l, links[2]);
  EXPECT_NE(chain_link(l, fragment_entry(3)), links[3]);
  // link = SHA-256(previous || canonical): what `sha256sum` of the concatenation prints.
  Bytes cat(links[0].begin(), links[0].end());
  Bytes c1 = canonical_chain_entry(fragment_entry(1));
  cat.insert(cat.end(), c1.begin(), c1.end());
  Sha256Hasher h;
  h.update(cat.data(), cat.size());
  EXPECT_EQ(h.finish(), links[1]);
}

TEST(Chain, CheckpointMessageRoundTripsAndIsTagged) {
  Checkpoint c;
  c.camera_id = "till";
  c.sequence = 42;
  c.head.fill(0xab);
  c.wall_time = wall_from_ms(1'796'000'000'000);
  c.audit_head.fill(0xcd);
  Bytes m = checkpoint_message(c);
  EXPECT_EQ(std::string(m.begin(), m.begin() + 19), "vigil-checkpoint-v1");
  auto back = parse_checkpoint_message(m.data(), m.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(checkpoint_message(*back), m);
  EXPECT_FALSE(parse_checkpoint_message(m.data(), m.size() - 1));
  Bytes entry = canonical_chain_entry(fragment_entry(0));
  EXPECT_FALSE(parse_checkpoint_message(entry.data(), entry.size()));
}

TEST(Chain, SignaturesVerifyAndFailOnAnyChange) {
  KeyPair k = generate_key_pair();
  Bytes msg = {1, 2, 3};
  Signature s = sign(k, msg);
  EXPECT_TRUE(verify_signature(k.public_key, msg, s));
  Bytes other = {1, 2, 4};
  EXPECT_FALSE(verify_signature(k.public_key, other, s));
  Signature flipped = s;
  flipped[0] ^= 1;
  EXPECT_FALSE(verify_signature(k.public_key, msg, flipped));
  EXPECT_FALSE(verify_signature(generate_key_pair().public_key, msg, s));
  // The key pair of a seed is deterministic (a key file stores the seed).
  std::array<uint8_t, 32> seed{};
  seed.fill(7);
  EXPECT_EQ(key_pair_from_seed(seed).public_key, key_pair_from_seed(seed).public_key);
}

TEST(Chain, PemRoundTripsAndRejectsOtherKeys) {
  KeyPair k = generate_key_pair();
  std::string pem = public_key_pem(k.public_key);
  auto back = parse_public_key_pem(pem);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, k.public_key);
  EXPECT_FALSE(parse_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  EXPECT_FALSE(parse_public_key_pem("not a key"));
  EXPECT_EQ(key_fingerprint(k.public_key).size(), 64u);
  EXPECT_NE(key_fingerprint(k.public_key), key_fingerprint(generate_key_pair().public_key));
}

// Standard tools agree: `openssl pkeyutl -verify -rawin` accepts our signature of a checkpoint
// with our PEM, refuses an altered message, and `openssl pkey … -outform DER | sha256sum`
// prints our fingerprint.
TEST(Chain, OpenSslCommandLineVerifiesWhatWeSign) {
  test::TempDir dir;
  KeyPair k = generate_key_pair();
  Checkpoint c;
  c.camera_id = "front-door";
  c.sequence = 3;
  c.head.fill(0x5a);
  c.wall_time = wall_from_ms(1'796'000'000'000);
  Bytes m = checkpoint_message(c);
  Signature s = sign(k, m);
  const auto d = dir.path();
  std::ofstream(d / "key.pem") << public_key_pem(k.public_key);
  write_file(d / "msg.bin", m.data(), m.size());
  write_file(d / "sig.bin", s.data(), s.size());
  m.back() ^= 1;
  write_file(d / "bad.bin", m.data(), m.size());
  auto run = [&](const std::string& cmd) {
    return std::system(("cd '" + d.string() + "' && (" + cmd + ") 2>/dev/null").c_str());
  };
  const std::string verify =
      "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -sigfile sig.bin -out /dev/null -in ";
  EXPECT_EQ(run(verify + "msg.bin"), 0);
  EXPECT_NE(run(verify + "bad.bin"), 0);
  ASSERT_EQ(run("openssl pkey -pubin -in key.pem -outform DER | sha256sum > fp.txt"), 0);
  EXPECT_EQ(read_file(d / "fp.txt").substr(0, 64), key_fingerprint(k.public_key));
}

}  // namespace
}  // namespace vigil
