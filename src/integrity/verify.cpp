// `vigil verify`: the offline checks of an evidence bundle (see verify.h and
// docs/design/integrity.md, "Evidence bundle").
#include "integrity/verify.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/supervision.h"

namespace vigil {
namespace {

// manifest.json of a day of 2-s fragments is ~30 MB; anything far beyond is not ours.
constexpr uint64_t kMaxSmallFile = uint64_t{512} << 20;

std::string seq_text(uint64_t s) { return "sequence " + std::to_string(s); }

// The first field in which the manifest's readable entry differs from the canonical one.
std::optional<std::string> differing_field(const ChainEntry& a, const ChainEntry& b) {
  if (a.camera_id != b.camera_id) return "camera";
  if (a.sequence != b.sequence) return "sequence";
  if (a.kind != b.kind) return "kind";
  if (a.wall_start != b.wall_start) return "wall_start";
  if (a.duration != b.duration) return "duration_90k";
  if (a.init_hash != b.init_hash) return "init_sha256";
  if (a.fragment_hash != b.fragment_hash) return "sha256";
  if (a.note != b.note) return "note";
  return std::nullopt;
}

std::optional<std::string> differing_field(const Checkpoint& a, const Checkpoint& b) {
  if (a.camera_id != b.camera_id) return "camera";
  if (a.sequence != b.sequence) return "sequence";
  if (a.head != b.head) return "head";
  if (a.wall_time != b.wall_time) return "wall_time";
  if (a.audit_head != b.audit_head) return "audit_head";
  return std::nullopt;
}

}  // namespace

std::vector<VerifyProblem> check_manifest(const Manifest& m,
                                          const std::optional<std::string>& trusted) {
  std::vector<VerifyProblem> problems;
  auto bad = [&](std::optional<size_t> entry, std::string message) {
    problems.push_back({entry, std::move(message)});
  };

  // Keys: each PEM must be an Ed25519 key with the stated fingerprint.
  std::map<std::string, PublicKey> keys;
  if (m.keys.empty()) bad(std::nullopt, "the bundle holds no public key");
  for (size_t i = 0; i < m.keys.size(); ++i) {
    auto key = parse_public_key_pem(m.keys[i].pem);
    if (!key) {
      bad(std::nullopt, "keys[" + std::to_string(i) + "] is not an Ed25519 public key");
    } else if (key_fingerprint(*key) != m.keys[i].fingerprint) {
      bad(std::nullopt, "keys[" + std::to_string(i) + "] has fingerprint " + key_fingerprint(*key) +
                            ", not the stated " + m.keys[i].fingerprint);
    } else {
      keys[m.keys[i].fingerprint] = *key;
    }
  }

  // Checkpoints: the signed message must say what the manifest says, and its signature hold.
  std::map<uint64_t, const ManifestCheckpoint*> by_sequence;
  for (size_t i = 0; i < m.checkpoints.size(); ++i) {
    const ManifestCheckpoint& c = m.checkpoints[i];
    const std::string name = "checkpoint " + std::to_string(i + 1) + " (" +
                             seq_text(c.checkpoint.sequence) + ", " +
                             format_iso8601(c.checkpoint.wall_time) + ")";
    auto parsed = parse_checkpoint_message(c.message.data(), c.message.size());
    if (!parsed) {
      bad(std::nullopt, name + ": the message is not a version 1 checkpoint");
      continue;
    }
    if (auto field = differing_field(*parsed, c.checkpoint)) {
      bad(std::nullopt, name + ": the manifest's " + *field + " differs from the signed message");
    }
    auto key = keys.find(c.key_fingerprint);
    if (key == keys.end()) {
      bad(std::nullopt, name + ": signed by key " + c.key_fingerprint + ", not in the bundle");
    } else if (!verify_signature(key->second, c.message, c.signature)) {
      bad(std::nullopt, name + ": the signature does not verify with key " + c.key_fingerprint);
    }
    if (trusted && c.key_fingerprint != *trusted) {
      bad(std::nullopt,
          name + ": signed by key " + c.key_fingerprint + ", not the trusted key " + *trusted);
    }
    if (!by_sequence.emplace(parsed->sequence, &c).second) {
      bad(std::nullopt, name + ": a second checkpoint for the same sequence");
    }
  }
  if (m.checkpoints.empty()) bad(std::nullopt, "the bundle holds no signed checkpoint");

  if (m.entries.empty()) {
    bad(std::nullopt, "the bundle holds no chain entries");
    return problems;
  }

  // The chain: it must start at a signed checkpoint (or the genesis) and run without holes.
  const uint64_t first = m.entries.front().entry.sequence;
  Sha256 previous = kChainGenesis;
  bool anchored = first == 0;
  if (first > 0) {
    auto it = by_sequence.find(first - 1);
    if (it != by_sequence.end()) {
      previous = it->second->checkpoint.head;
      anchored = true;
    } else {
      bad(std::nullopt,
          "the chain does not start at a signed checkpoint (none at " + seq_text(first - 1) + ")");
    }
  }
  std::vector<uint64_t> next_offset;
  for (const ManifestPart& p : m.parts) next_offset.push_back(p.init_bytes);
  std::vector<size_t> fragments_in_part(m.parts.size(), 0);
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const ManifestEntry& me = m.entries[i];
    auto decoded = parse_chain_entry(me.canonical.data(), me.canonical.size());
    if (!decoded) {
      bad(i, "the canonical entry is not a version 1 chain entry");
      previous = me.link;
      continue;
    }
    if (auto field = differing_field(me.entry, *decoded)) {
      bad(i, "the manifest's " + *field + " differs from the canonical chain entry");
    }
    if (i > 0 && decoded->sequence != m.entries[i - 1].entry.sequence + 1) {
      bad(i, seq_text(decoded->sequence) + " follows " + seq_text(m.entries[i - 1].entry.sequence) +
                 ": chain entries were removed, added or reordered");
    }
    if (i == 0 && !anchored) {
      previous = me.link;  // nothing to check the first link against (reported above)
    } else {
      previous = chain_link_of_canonical(previous, me.canonical);
      if (previous != me.link) bad(i, "the link does not follow from the previous link");
    }
    if (auto it = by_sequence.find(decoded->sequence);
        it != by_sequence.end() && it->second->checkpoint.head != previous) {
      bad(i, "the signed checkpoint at " + seq_text(decoded->sequence) +
                 " is for another chain: entries up to here were changed");
    }
    // The manifest's fields from here on: they equal the decoded ones (or a problem was
    // reported), and the parser bounded them, so time arithmetic on them cannot overflow.
    const ChainEntry& e = me.entry;
    if (e.kind != ChainKind::kFragment) {
      if (me.part != 0) bad(i, "a gap entry has bytes in a clip");
      continue;
    }
    if (me.part == 0) {
      const WallTime end = e.wall_start + to_wall(e.duration);
      if (e.wall_start < m.to && end > m.from) {
        bad(i, "a fragment inside the range is not in the bundle");
      }
      continue;
    }
    if (me.part > m.parts.size()) {
      bad(i, "the entry names part " + std::to_string(me.part) + ", which does not exist");
      continue;
    }
    const ManifestPart& part = m.parts[me.part - 1];
    ++fragments_in_part[me.part - 1];
    if (me.offset != next_offset[me.part - 1] || me.bytes == 0) {
      bad(i, "its bytes do not follow the previous fragment's in " + part.file);
    }
    next_offset[me.part - 1] = me.offset + me.bytes;
    if (e.init_hash != part.init_hash) {
      bad(i, "its init segment differs from the one at the start of " + part.file);
    }
  }
  const uint64_t last = m.entries.back().entry.sequence;
  if (!by_sequence.count(last)) {
    bad(std::nullopt, "the chain's end is not signed (no checkpoint at " + seq_text(last) + ")");
  }
  for (const auto& [sequence, c] : by_sequence) {
    if (sequence + 1 < first || sequence > last) {
      bad(std::nullopt, "a checkpoint at " + seq_text(sequence) + " lies outside the chain");
    }
  }
  for (size_t k = 0; k < m.parts.size(); ++k) {
    const std::string want =
        m.parts.size() == 1 ? "clip.mp4" : "clip-" + std::to_string(k + 1) + ".mp4";
    if (m.parts[k].file != want)
      bad(std::nullopt,
          "part " + std::to_string(k + 1) + " is named " + m.parts[k].file + ", not " + want);
    if (fragments_in_part[k] == 0) bad(std::nullopt, m.parts[k].file + " has no fragments");
    if (next_offset[k] != m.parts[k].bytes) {
      bad(std::nullopt, m.parts[k].file + ": the fragments cover " +
                            std::to_string(next_offset[k]) + " of its " +
                            std::to_string(m.parts[k].bytes) + " bytes");
    }
  }
  const std::vector<ManifestGap> gaps = gaps_of(m.entries);
  bool same_gaps = gaps.size() == m.gaps.size();
  for (size_t i = 0; same_gaps && i < gaps.size(); ++i) {
    same_gaps = gaps[i].sequence == m.gaps[i].sequence && gaps[i].kind == m.gaps[i].kind &&
                gaps[i].reason == m.gaps[i].reason;
  }
  if (!same_gaps) bad(std::nullopt, "the gaps list differs from the chain's gap entries");
  return problems;
}

namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileCloser>;

// Reads a whole member of at most `max` bytes; nullopt when it is absent, larger or unreadable.
std::optional<std::string> read_member(zip_t* z, const std::string& name, uint64_t max) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z, name.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > max) {
    return std::nullopt;
  }
  ZipFilePtr f(zip_fopen(z, name.c_str(), 0));
  if (!f) return std::nullopt;
  std::string data(st.size, '\0');
  uint64_t got = 0;
  while (got < st.size) {
    const zip_int64_t n = zip_fread(f.get(), data.data() + got, st.size - got);
    if (n <= 0) return std::nullopt;
    got += static_cast<uint64_t>(n);
  }
  return data;
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Hashes pieces of a byte stream (a clip's init segment, then each fragment) on a thread of its
// own ("verify-hash") while the caller reads the next chunks: on one core a one-hour bundle
// took 2.2 s of CPU, ~0.9 s of it libzip's and the kernel's copies and the rest SHA-256, so on
// two cores reading and hashing side by side take about the time of the hashing alone. Memory
// is bounded by a few chunk buffers whatever sizes the (untrusted) manifest claims.
class PieceHasher {
 public:
  PieceHasher() {
    for (auto& b : buffers_) b.resize(kChunk);
    for (size_t i = 0; i < buffers_.size(); ++i) free_.push_back(i);
    thread_ = std::thread([this] { run(); });
  }
  ~PieceHasher() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  PieceHasher(const PieceHasher&) = delete;
  PieceHasher& operator=(const PieceHasher&) = delete;

  static constexpr size_t kChunk = size_t{1} << 20;

  // A free buffer of kChunk bytes for the caller to fill, then hand over with submit().
  size_t take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    const size_t b = free_.front();
    free_.pop_front();
    return b;
  }
  uint8_t* data(size_t buffer) { return buffers_[buffer].data(); }
  // Hands over `n` bytes of `buffer`; `last` ends the current piece (its digest is the next of
  // finish()'s). A piece may end with an empty chunk.
  void submit(size_t buffer, size_t n, bool last) {
    {
      std::lock_guard lock(mu_);
      filled_.push_back({buffer, n, last});
    }
    cv_.notify_all();
  }
  // The digests of every ended piece, in order, once all handed-over bytes are hashed.
  std::vector<Sha256> finish() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return filled_.empty() && !busy_; });
    return digests_;
  }

 private:
  struct Chunk {
    size_t buffer, n;
    bool last;
  };
  void run() {
    set_thread_name("verify-hash");
    Sha256Hasher h;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return closed_ || !filled_.empty(); });
      if (filled_.empty()) return;  // closed, and nothing left
      const Chunk c = filled_.front();
      filled_.pop_front();
      busy_ = true;
      lock.unlock();
      h.update(buffers_[c.buffer].data(), c.n);
      std::optional<Sha256> done;
      if (c.last) done = h.finish();  // and starts over for the next piece
      lock.lock();
      if (done) digests_.push_back(*done);
      free_.push_back(c.buffer);
      busy_ = false;
      cv_.notify_all();
    }
  }

  std::array<std::vector<uint8_t>, 4> buffers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> free_;
  std::deque<Chunk> filled_;
  std::vector<Sha256> digests_;
  bool busy_ = false;
  bool closed_ = false;
  std::thread thread_;
};

// Streams one clip through SHA-256, fragment by fragment, in chain order.
void check_clip(zip_t* z, const Manifest& m, uint32_t part, VerifyReport& r) {
  const ManifestPart& p = m.parts[part - 1];
  std::vector<size_t> entries;  // this part's fragments, in chain order
  for (size_t i = 0; i < m.entries.size(); ++i) {
    if (m.entries[i].part == part && m.entries[i].entry.kind == ChainKind::kFragment) {
      entries.push_back(i);
    }
  }
  const std::optional<size_t> first_entry =
      entries.empty() ? std::nullopt : std::optional<size_t>(entries.front());
  zip_stat_t st;
  zip_stat_init(&st);
  ZipFilePtr f;
  // A stored clip is read raw (ZIP_FL_COMPRESSED), without libzip's CRC-32 pass: every byte is
  // hashed with SHA-256 below anyway, and the CRC costs a quarter of the time on a long clip.
  const bool stat_ok = zip_stat(z, p.file.c_str(), 0, &st) == 0;
  const zip_flags_t raw =
      stat_ok && (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE &&
              (!(st.valid & ZIP_STAT_ENCRYPTION_METHOD) || st.encryption_method == ZIP_EM_NONE)
          ? ZIP_FL_COMPRESSED
          : 0;
  if (!stat_ok || !(f = ZipFilePtr(zip_fopen(z, p.file.c_str(), raw)))) {
    r.problems.push_back({first_entry, p.file + " is missing from the bundle"});
    return;
  }
  if (st.size != p.bytes) {
    r.problems.push_back({std::nullopt, p.file + " has " + std::to_string(st.size) +
                                            " bytes, the manifest says " +
                                            std::to_string(p.bytes)});
  }
  // Reads the init segment, then each fragment, into the hasher; `read` counts the pieces read
  // whole (the clip may end early: bytes removed).
  std::vector<Sha256> digests;
  size_t read = 0;
  {
    PieceHasher hasher;
    bool eof = false;
    // Hands the next `n` bytes to the hasher as one piece; false when the clip ends (or cannot
    // be read) before them.
    auto read_piece = [&](uint64_t n) {
      do {
        const size_t b = hasher.take();
        const size_t want = static_cast<size_t>(std::min<uint64_t>(n, PieceHasher::kChunk));
        zip_int64_t got = 0;
        if (want > 0 && !eof) {
          got = zip_fread(f.get(), hasher.data(b), want);
          if (got <= 0) {
            eof = true;
            got = 0;
          }
        }
        n -= static_cast<uint64_t>(got);
        hasher.submit(b, static_cast<size_t>(got), n == 0 || eof);
      } while (n > 0 && !eof);
      return n == 0;
    };
    if (read_piece(p.init_bytes)) {
      ++read;
      for (const size_t i : entries) {
        if (!read_piece(m.entries[i].bytes)) break;
        ++read;
      }
    }
    digests = hasher.finish();
  }
  if (read == 0 || digests[0] != p.init_hash) {
    r.problems.push_back({first_entry, p.file + ": the init segment (ftyp+moov) does not hash "
                                                "to the manifest's init_sha256: it was altered"});
  }
  for (size_t k = 0; k < entries.size(); ++k) {
    const size_t i = entries[k];
    const ManifestEntry& me = m.entries[i];
    if (k + 1 >= read) {  // digests[0] is the init segment's
      r.problems.push_back({i, p.file + " ends before this fragment's bytes: they were removed"});
      return;
    }
    if (digests[k + 1] != me.entry.fragment_hash) {
      r.problems.push_back({i, "its bytes in " + p.file + " at offset " +
                                   std::to_string(me.offset) +
                                   " do not hash to its chain entry: the video was altered"});
    }
    ++r.fragments;
    r.clip_bytes += me.bytes;
  }
}

template <typename T, void (*Free)(T*)>
struct OsslFree {
  void operator()(T* p) const { Free(p); }
};
using TsRespPtr = std::unique_ptr<TS_RESP, OsslFree<TS_RESP, TS_RESP_free>>;
using TsVerifyPtr = std::unique_ptr<TS_VERIFY_CTX, OsslFree<TS_VERIFY_CTX, TS_VERIFY_CTX_free>>;

std::string local_time(WallTime t) {
  const std::time_t secs = static_cast<std::time_t>(ms_since_epoch(t) / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
  return buf;
}

}  // namespace

TsaTokenCheck check_tsa_token(const Bytes& token, const Bytes& message,
                              const std::optional<std::filesystem::path>& tsa_ca) {
  TsaTokenCheck out;
  const unsigned char* p = token.data();
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(token.size())));
  TS_TST_INFO* info = resp ? TS_RESP_get_tst_info(resp.get()) : nullptr;
  if (!info) {
    out.problem = "the RFC 3161 token is not a granted TimeStampResp";
    return out;
  }
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(info);
  const ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR_get0(&algorithm, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(imprint));
  const ASN1_OCTET_STRING* digest = TS_MSG_IMPRINT_get_msg(imprint);
  const Sha256 want = sha256_of(message);
  if (OBJ_obj2nid(algorithm) != NID_sha256 || ASN1_STRING_length(digest) != 32 ||
      !std::equal(want.begin(), want.end(), ASN1_STRING_get0_data(digest))) {
    out.problem = "the RFC 3161 token is not for this checkpoint's message (SHA-256 imprint)";
    return out;
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(info), &tm) != 1) {
    out.problem = "the RFC 3161 token has no readable time";
    return out;
  }
  if (tsa_ca) {
    // The TSA's signature and certificate chain up to the CA, and the imprint again (OpenSSL's
    // own check, as `openssl ts -verify -data -CAfile` makes it).
    TsVerifyPtr ctx(TS_VERIFY_CTX_new());
    X509_STORE* store = X509_STORE_new();
    auto* imprint_copy = static_cast<unsigned char*>(OPENSSL_malloc(want.size()));
    if (!ctx || !store || !imprint_copy) {
      X509_STORE_free(store);
      OPENSSL_free(imprint_copy);
      out.problem = "out of memory checking the RFC 3161 token";
      return out;
    }
    TS_VERIFY_CTX_set_store(ctx.get(), store);  // owned by ctx from here
    std::copy(want.begin(), want.end(), imprint_copy);
    TS_VERIFY_CTX_set_imprint(ctx.get(), imprint_copy, static_cast<long>(want.size()));
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
    if (X509_STORE_load_file(store, tsa_ca->c_str()) != 1) {
      out.problem = "cannot read the TSA CA certificates in " + tsa_ca->string();
      return out;
    }
    if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
      out.problem =
          "the RFC 3161 token is not signed by a TSA that " + tsa_ca->string() + " vouches for";
      return out;
    }
  } else {
    // Without a CA, the signature is checked with the certificate the token carries (vigil's
    // requests ask for it: certReq): any change to the token — its time, its imprint, its
    // signature — made without the TSA's key fails, as in the browser's check (web/src/
    // tsa_token.ts). Which TSA signed it needs the CA.
    PKCS7* token_p7 = TS_RESP_get_token(resp.get());
    const bool signed_ok =
        token_p7 && PKCS7_verify(token_p7, nullptr, nullptr, nullptr, nullptr, PKCS7_NOVERIFY) == 1;
    ERR_clear_error();  // what OpenSSL queued about the input is reported here, not left behind
    if (!signed_ok) {
      out.problem = "the RFC 3161 token's signature does not verify with the certificate it "
                    "carries: the token was altered";
      return out;
    }
  }
  out.time = wall_from_ms(static_cast<int64_t>(timegm(&tm)) * 1000);
  return out;
}

VerifyReport verify_evidence_bundle(const std::filesystem::path& bundle,
                                    const std::optional<std::string>& trusted,
                                    const std::optional<std::filesystem::path>& tsa_ca) {
  VerifyReport r;
  int err = 0;
  ZipPtr z(zip_open(bundle.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    r.problems.push_back({std::nullopt, bundle.string() + " is not a readable ZIP file: " +
                                            zip_error_strerror(&ze)});
    zip_error_fini(&ze);
    return r;
  }
  auto text = read_member(z.get(), "manifest.json", kMaxSmallFile);
  if (!text) {
    r.problems.push_back({std::nullopt, "the bundle has no readable manifest.json"});
    return r;
  }
  ManifestParse parsed = parse_manifest(*text);
  if (!parsed.manifest) {
    r.problems.push_back({std::nullopt, parsed.error});
    return r;
  }
  r.manifest = std::move(parsed.manifest);
  r.tsa_signatures_checked = tsa_ca.has_value();
  const Manifest& m = *r.manifest;
  r.problems = check_manifest(m, trusted);

  // The copies for standard tools must say what the manifest says.
  std::set<std::string> expected = {"manifest.json", "chain.tsv", "VERIFY.txt", "export.msg",
                                    "export.sig"};
  auto same = [&](const std::string& name, const std::string& want) {
    expected.insert(name);
    if (read_member(z.get(), name, kMaxSmallFile) != want) {
      r.problems.push_back({std::nullopt, name + " is missing or differs from manifest.json"});
    }
  };
  same("chain.tsv", chain_tsv(m));
  for (size_t i = 0; i < m.checkpoints.size(); ++i) {
    const ManifestCheckpoint& c = m.checkpoints[i];
    const std::string stem = "checkpoints/" + std::to_string(i + 1);
    same(stem + ".msg", as_string(c.message));
    same(stem + ".sig", std::string(c.signature.begin(), c.signature.end()));
    r.tsa_times.emplace_back();
    if (!c.tsa_token.empty()) {
      same(stem + ".tsr", as_string(c.tsa_token));
      ++r.tsa_tokens;
      const TsaTokenCheck t = check_tsa_token(c.tsa_token, c.message, tsa_ca);
      if (!t.problem.empty()) {
        r.problems.push_back(
            {std::nullopt, "checkpoint " + std::to_string(i + 1) + ": " + t.problem});
      }
      r.tsa_times.back() = t.time;
    }
  }
  if (m.keys.size() == 1) {
    same("key.pem", m.keys[0].pem);
  } else {
    for (const ManifestKey& k : m.keys) same("keys/" + k.fingerprint + ".pem", k.pem);
  }

  // The export statement covers the whole manifest, including what no checkpoint signs.
  auto statement = read_member(z.get(), "export.msg", 1024);
  auto statement_sig = read_member(z.get(), "export.sig", 1024);
  if (!statement || !statement_sig || statement_sig->size() != 64) {
    r.problems.push_back(
        {std::nullopt, "the export statement (export.msg, export.sig) is missing"});
  } else if (*statement != as_string(export_statement(*text))) {
    r.problems.push_back({std::nullopt,
                          "export.msg is not the statement of this manifest.json: "
                          "the manifest was edited"});
  } else {
    Signature sig{};
    std::copy(statement_sig->begin(), statement_sig->end(), sig.begin());
    const Bytes message(statement->begin(), statement->end());
    for (const ManifestKey& k : m.keys) {
      auto key = parse_public_key_pem(k.pem);
      if (key && key_fingerprint(*key) == k.fingerprint &&
          (!trusted || k.fingerprint == *trusted) && verify_signature(*key, message, sig)) {
        r.statement_signed = true;
      }
    }
    if (!r.statement_signed) {
      r.problems.push_back({std::nullopt, trusted
                                              ? "export.sig is not a signature by the trusted key"
                                              : "export.sig does not verify with the bundled key"});
    }
  }

  // Files beside the footage (transactions.json): the manifest, which export.sig covers, gives
  // each one's size and hash, so a changed or removed file is named here.
  for (const ManifestAttachment& a : m.attachments) {
    expected.insert(a.file);
    const auto bytes = read_member(z.get(), a.file, kMaxSmallFile);
    if (!bytes) {
      r.problems.push_back({std::nullopt, a.file + " is missing (manifest.json lists it)"});
      continue;
    }
    if (bytes->size() != a.bytes || sha256_of(*bytes) != a.sha256) {
      r.problems.push_back({std::nullopt, a.file + " was altered: its bytes do not hash to the "
                                              "SHA-256 manifest.json gives it"});
    }
  }
  for (uint32_t k = 1; k <= m.parts.size(); ++k) {
    expected.insert(m.parts[k - 1].file);
    check_clip(z.get(), m, k, r);
  }
  const zip_int64_t members = zip_get_num_entries(z.get(), 0);
  for (zip_int64_t i = 0; i < members; ++i) {
    const char* name = zip_get_name(z.get(), static_cast<zip_uint64_t>(i), 0);
    if (name && !expected.count(name)) {
      r.problems.push_back({std::nullopt, std::string("unexpected file in the bundle: ") + name});
    }
  }

  for (const VerifyProblem& p : r.problems) {
    if (p.entry && (!r.first_bad_entry || *p.entry < *r.first_bad_entry))
      r.first_bad_entry = p.entry;
  }
  r.ok = r.problems.empty();
  return r;
}

std::string format_verify_report(const VerifyReport& r, const std::optional<std::string>& trusted) {
  std::string out;
  if (r.manifest) {
    const Manifest& m = *r.manifest;
    out += "camera:      " + m.camera_id +
           (m.camera_name.empty() ? "" : " (" + m.camera_name + ")") + "\n";
    out += "range (UTC): " + format_iso8601(m.from) + " .. " + format_iso8601(m.to) + "\n";
    out += "range (local): " + local_time(m.from) + " .. " + local_time(m.to) + "\n";
    size_t gaps = m.gaps.size();
    out += "footage:     " + std::to_string(r.fragments) + " fragments in " +
           std::to_string(m.parts.size()) + " clip(s), " + std::to_string(r.clip_bytes) +
           " bytes; " + std::to_string(gaps) + " gap(s)\n";
    if (!m.entries.empty()) {
      out += "chain:       " + seq_text(m.entries.front().entry.sequence) + " .. " +
             std::to_string(m.entries.back().entry.sequence) + "\n";
    }
    for (const ManifestKey& k : m.keys) {
      out +=
          "key:         " + k.fingerprint +
          (trusted ? (k.fingerprint == *trusted ? " (the trusted key)" : " (NOT the trusted key)")
                   : " (not compared with a trusted fingerprint: pass --key)") +
          "\n";
    }
    for (size_t i = 0; i < m.checkpoints.size(); ++i) {
      const ManifestCheckpoint& c = m.checkpoints[i];
      std::string tsa;
      if (!c.tsa_token.empty()) {
        const std::optional<WallTime> t = i < r.tsa_times.size() ? r.tsa_times[i] : std::nullopt;
        tsa = !t ? "; its RFC 3161 token does not hold"
                 : "; RFC 3161 time " + format_iso8601(*t) +
                       (r.tsa_signatures_checked
                            ? " (TSA signature checked against the CA)"
                            : " (signed by the certificate it carries; pass --tsa-ca to check "
                              "which TSA that is)");
      }
      out += "checkpoint:  " + seq_text(c.checkpoint.sequence) + " signed at " +
             format_iso8601(c.checkpoint.wall_time) + " (recorder clock)" + tsa + "\n";
    }
    for (const ManifestAttachment& a : m.attachments) {
      out += "attached:    " + a.file + " (" + a.kind + ", " + std::to_string(a.bytes) +
             " bytes)\n";
    }
    out += "exported by: " + m.exporter.user + " from " + m.exporter.address + " at " +
           format_iso8601(m.exporter.time) + "\n";
    for (const ManifestGap& g : m.gaps) {
      out += "gap:         " + format_iso8601(g.from) + " .. " + format_iso8601(g.to) + ": " +
             g.reason + "\n";
    }
  }
  if (r.ok) {
    out += "verdict:     VERIFIED: every fragment, link and signature holds\n";
    return out;
  }
  out += "verdict:     NOT VERIFIED\n";
  if (r.first_bad_entry && r.manifest) {
    const ChainEntry& e = r.manifest->entries[*r.first_bad_entry].entry;
    out += "first bad:   " + std::string(chain_kind_name(e.kind)) + " " + seq_text(e.sequence) +
           " at " + format_iso8601(e.wall_start) + " (" + local_time(e.wall_start) + ")\n";
  }
  size_t shown = 0;
  for (const VerifyProblem& p : r.problems) {
    if (++shown > 20) {
      out += "  … and " + std::to_string(r.problems.size() - 20) + " more\n";
      break;
    }
    std::string where;
    if (p.entry && r.manifest) {
      const ChainEntry& e = r.manifest->entries[*p.entry].entry;
      where = seq_text(e.sequence) + " (" + format_iso8601(e.wall_start) + "): ";
    }
    out += "  - " + where + p.message + "\n";
  }
  return out;
}

}  // namespace vigil
