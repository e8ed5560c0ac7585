// The byte formats of vigil's evidence, in one place: the per-camera hash chain of recorded
// fragments and gaps, the signed checkpoint message, Ed25519 keys and their fingerprints.
//
// Everything here is pure (no catalog, no files) so that the recorder that builds a chain,
// `vigil check` that walks it, the evidence-bundle writer and `vigil verify` all agree on the
// same bytes. The formats are specified in docs/design/integrity.md ("Formats"); they are
// versioned and never change in place: a new format gets a new version byte / tag.
//
// Why big-endian fixed-width integers and length-prefixed strings: a verifier with only
// standard tools (printf, xxd, sha256sum, openssl) can rebuild the bytes, and no two different
// entries encode to the same bytes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "integrity/file_hash.h"

namespace vigil {

using Bytes = std::vector<uint8_t>;

enum class ChainKind : uint8_t {
  // A recorded fragment (moof+mdat, one GOP): its bytes hash to fragment_hash.
  kFragment = 1,
  // Nothing was recorded from wall_start for duration (camera offline, vigil stopped, disk
  // error, queue overflow): "nothing was recorded here" is part of the chain.
  kGap = 2,
  // Fragments that were written but lost before they became durable (a crash or power cut
  // after the last durable link); recorded when the chain resumes.
  kLost = 3,
};

struct ChainEntry {
  std::string camera_id;
  uint64_t sequence = 0;  // per camera, from 0, consecutive across files and restarts
  ChainKind kind = ChainKind::kFragment;
  WallTime wall_start;    // host wall time of the first frame (or of the start of a gap)
  Ticks90k duration{0};   // media duration of the fragment; wall span of a gap, in ticks
  Sha256 init_hash{};     // SHA-256 of the segment's init part (ftyp+moov); zeros for a gap
  Sha256 fragment_hash{}; // SHA-256 of moof+mdat; zeros for a gap
  std::string note;       // a gap's reason ("camera offline: …"); empty for a fragment
};

// Version 1 encoding (docs/design/integrity.md):
//   u8 1 | u8 kind | u16 len, camera_id | u64 sequence | i64 wall_start ms since the Unix epoch
//   | i64 duration in 90 kHz ticks | 32 init_hash | 32 fragment_hash | u16 len, note
// Strings are UTF-8, at most 65535 bytes (longer notes are cut at a character boundary).
Bytes canonical_chain_entry(const ChainEntry& e);
// Decodes what canonical_chain_entry made; nullopt for anything else (wrong version, trailing
// bytes, short input). Untrusted input (bundles): never throws.
std::optional<ChainEntry> parse_chain_entry(const uint8_t* data, size_t size);

// The link before a camera's first entry.
inline constexpr Sha256 kChainGenesis{};
// link_n = SHA-256(link_{n-1} || canonical(entry_n)).
Sha256 chain_link(const Sha256& previous, const ChainEntry& e);
Sha256 chain_link_of_canonical(const Sha256& previous, const Bytes& canonical);

// A signed statement that a camera's chain reached `head` at `sequence`, and the audit log
// reached `audit_head`, at `wall_time` (the recorder's clock).
struct Checkpoint {
  std::string camera_id;
  uint64_t sequence = 0;  // of the entry whose link is `head`
  Sha256 head{};
  WallTime wall_time;
  Sha256 audit_head{};
};
// Version 1 message: ASCII "vigil-checkpoint-v1" (19 bytes, the domain tag: a signature over
// a checkpoint can never be read as a signature over anything else) | u16 len, camera_id
// | u64 sequence | 32 head | i64 wall_time ms | 32 audit_head.
Bytes checkpoint_message(const Checkpoint& c);
std::optional<Checkpoint> parse_checkpoint_message(const uint8_t* data, size_t size);

// Ed25519 (libsodium). The public key is the raw 32 bytes; the secret key libsodium's 64-byte
// form (seed || public key).
using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, 64> secret_key{};
};
KeyPair generate_key_pair();
// The key pair of a 32-byte seed (what a key file stores).
KeyPair key_pair_from_seed(const std::array<uint8_t, 32>& seed);
Signature sign(const KeyPair& key, const Bytes& message);
bool verify_signature(const PublicKey& key, const Bytes& message, const Signature& signature);

// The public key as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"), which
// `openssl pkeyutl -verify -pubin -inkey key.pem -rawin` reads.
std::string public_key_pem(const PublicKey& key);
std::optional<PublicKey> parse_public_key_pem(std::string_view pem);
// The fingerprint: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo, so that
// `openssl pkey -pubin -in key.pem -outform DER | sha256sum` prints the same 64 digits.
std::string key_fingerprint(const PublicKey& key);

// Hex of a key, signature or hash; from_hex_array: nullopt unless exactly N bytes of hex.
template <size_t N>
std::string hex(const std::array<uint8_t, N>& a) {
  return hex(a.data(), a.size());
}
template <size_t N>
std::optional<std::array<uint8_t, N>> from_hex_array(std::string_view text) {
  auto b = from_hex(text);
  if (!b || b->size() != N) return std::nullopt;
  std::array<uint8_t, N> a{};
  std::copy(b->begin(), b->end(), a.begin());
  return a;
}

}  // namespace vigil
