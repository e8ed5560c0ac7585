// The evidence formats of chain.h. See docs/design/integrity.md ("Formats").
#include "integrity/chain.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace vigil {
namespace {

constexpr uint8_t kEntryVersion = 1;
constexpr std::string_view kCheckpointTag = "vigil-checkpoint-v1";
// DER of an Ed25519 SubjectPublicKeyInfo up to the key (RFC 8410 §4): SEQUENCE { SEQUENCE {
// OID 1.3.101.112 }, BIT STRING (33 bytes: 0 unused bits + the key) }.
constexpr std::array<uint8_t, 12> kSpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

void put_u8(Bytes& out, uint8_t v) { out.push_back(v); }
void put_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put_u64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
void put_i64(Bytes& out, int64_t v) { put_u64(out, static_cast<uint64_t>(v)); }
// resize + memcpy rather than insert(end, p, p + n): GCC 12 at -O3 sees vector's reallocating
// insert path write "out of bounds" (-Warray-bounds/-Wstringop-overflow false positives, GCC bug
// 107852), which breaks Release builds under -Werror.
void put_bytes(Bytes& out, const uint8_t* p, size_t n) {
  if (n == 0) return;
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

// Cuts `s` to at most 65535 bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s) {
  constexpr size_t kMax = 0xffff;
  if (s.size() <= kMax) return s;
  size_t n = kMax;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}
void put_string(Bytes& out, std::string_view s) {
  s = cut_utf8(s);
  put_u16(out, static_cast<uint16_t>(s.size()));
  put_bytes(out, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Reads big-endian fields from untrusted bytes; every read checks the length first.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  bool u8(uint8_t& v) {
    if (end_ - p_ < 1) return false;
    v = *p_++;
    return true;
  }
  bool u16(uint16_t& v) {
    if (end_ - p_ < 2) return false;
    v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    p_ += 2;
    return true;
  }
  bool u64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p_[i];
    p_ += 8;
    return true;
  }
  bool i64(int64_t& v) {
    uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  template <size_t N>
  bool array(std::array<uint8_t, N>& a) {
    if (static_cast<size_t>(end_ - p_) < N) return false;
    std::memcpy(a.data(), p_, N);
    p_ += N;
    return true;
  }
  bool string(std::string& s) {
    uint16_t n = 0;
    if (!u16(n) || static_cast<size_t>(end_ - p_) < n) return false;
    s.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  bool literal(std::string_view tag) {
    if (static_cast<size_t>(end_ - p_) < tag.size() ||
        std::memcmp(p_, tag.data(), tag.size()) != 0) {
      return false;
    }
    p_ += tag.size();
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it only has to have run before the first call.
  if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "libsodium could not be initialised");
}

}  // namespace

Bytes canonical_chain_entry(const ChainEntry& e) {
  Bytes out;
  out.reserve(1 + 1 + 2 + e.camera_id.size() + 8 + 8 + 8 + 32 + 32 + 2 + e.note.size());
  put_u8(out, kEntryVersion);
  put_u8(out, static_cast<uint8_t>(e.kind));
  put_string(out, e.camera_id);
  put_u64(out, e.sequence);
  put_i64(out, ms_since_epoch(e.wall_start));
  put_i64(out, e.duration.count());
  put_bytes(out, e.init_hash.data(), e.init_hash.size());
  put_bytes(out, e.fragment_hash.data(), e.fragment_hash.size());
  put_string(out, e.note);
  return out;
}

std::optional<ChainEntry> parse_chain_entry(const uint8_t* data, size_t size) {
  Reader r(data, size);
  ChainEntry e;
  uint8_t version = 0, kind = 0;
  int64_t wall_ms = 0, ticks = 0;
  if (!r.u8(version) || version != kEntryVersion || !r.u8(kind)) return std::nullopt;
  if (kind < 1 || kind > 3) return std::nullopt;
  e.kind = static_cast<ChainKind>(kind);
  if (!r.string(e.camera_id) || !r.u64(e.sequence) || !r.i64(wall_ms) || !r.i64(ticks) ||
      !r.array(e.init_hash) || !r.array(e.fragment_hash) || !r.string(e.note) || !r.done()) {
    return std::nullopt;
  }
  e.wall_start = wall_from_ms(wall_ms);
  e.duration = Ticks90k{ticks};
  return e;
}

Sha256 chain_link_of_canonical(const Sha256& previous, const Bytes& canonical) {
  Sha256Hasher h;
  h.update(previous.data(), previous.size());
  h.update(canonical.data(), canonical.size());
  return h.finish();
}

Sha256 chain_link(const Sha256& previous, const ChainEntry& e) {
  return chain_link_of_canonical(previous, canonical_chain_entry(e));
}

Bytes checkpoint_message(const Checkpoint& c) {
  Bytes out;
  put_bytes(out, reinterpret_cast<const uint8_t*>(kCheckpointTag.data()), kCheckpointTag.size());
  put_string(out, c.camera_id);
  put_u64(out, c.sequence);
  put_bytes(out, c.head.data(), c.head.size());
  put_i64(out, ms_since_epoch(c.wall_time));
  put_bytes(out, c.audit_head.data(), c.audit_head.size());
  return out;
}

std::optional<Checkpoint> parse_checkpoint_message(const uint8_t* data, size_t size) {
  Reader r(data, size);
  Checkpoint c;
  int64_t wall_ms = 0;
  if (!r.literal(kCheckpointTag) || !r.string(c.camera_id) || !r.u64(c.sequence) ||
      !r.array(c.head) || !r.i64(wall_ms) || !r.array(c.audit_head) || !r.done()) {
    return std::nullopt;
  }
  c.wall_time = wall_from_ms(wall_ms);
  return c;
}

KeyPair generate_key_pair() {
  ensure_sodium();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  KeyPair k = key_pair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

KeyPair key_pair_from_seed(const std::array<uint8_t, 32>& seed) {
  ensure_sodium();
  KeyPair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

Signature sign(const KeyPair& key, const Bytes& message) {
  ensure_sodium();
  Signature s{};
  crypto_sign_detached(s.data(), nullptr, message.data(), message.size(), key.secret_key.data());
  return s;
}

bool verify_signature(const PublicKey& key, const Bytes& message, const Signature& signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

namespace {
Bytes spki_der(const PublicKey& key) {
  Bytes der(kSpkiPrefix.size() + key.size());  // sized once: see put_bytes
  std::copy(key.begin(), key.end(), std::copy(kSpkiPrefix.begin(), kSpkiPrefix.end(), der.begin()));
  return der;
}
}  // namespace

std::string public_key_pem(const PublicKey& key) {
  Bytes der = spki_der(key);
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der.data(),
                          static_cast<int>(der.size()));
  b64.resize(static_cast<size_t>(n));
  // 44 base64 characters: one line, under PEM's 64-character limit.
  return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n";
}

std::optional<PublicKey> parse_public_key_pem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  size_t b = pem.find(kBegin);
  if (b == std::string_view::npos) return std::nullopt;
  size_t e = pem.find(kEnd, b + kBegin.size());
  if (e == std::string_view::npos) return std::nullopt;
  std::string b64;
  for (char c : pem.substr(b + kBegin.size(), e - b - kBegin.size())) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64 += c;
  }
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 128) return std::nullopt;
  uint8_t der[96];
  int n = EVP_DecodeBlock(der, reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes; the real length is shorter by the '='s.
  size_t len = static_cast<size_t>(n);
  for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) --len;
  if (len != kSpkiPrefix.size() + 32 ||
      std::memcmp(der, kSpkiPrefix.data(), kSpkiPrefix.size()) != 0) {
    return std::nullopt;
  }
  PublicKey key{};
  std::memcpy(key.data(), der + kSpkiPrefix.size(), key.size());
  return key;
}

std::string key_fingerprint(const PublicKey& key) {
  Bytes der = spki_der(key);
  Sha256Hasher h;
  h.update(der.data(), der.size());
  return hex(h.finish());
}

}  // namespace vigil
