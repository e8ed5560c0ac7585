// The evidence bundle writer (see bundle.h and docs/design/integrity.md, "Evidence bundle").
#include "integrity/bundle.h"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <memory>

#include "core/error.h"
#include "integrity/verify.h"

namespace vigil {
namespace {

Bytes read_range(const FileRange& r) {
  const int fd = ::open(r.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                "open " + r.file.string() + ": " + errno_string(errno));
  }
  Bytes out(r.size);
  uint64_t got = 0;
  while (got < r.size) {
    const ssize_t n =
        ::pread(fd, out.data() + got, r.size - got, static_cast<off_t>(r.offset + got));
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      throw Error(ErrorCode::kDataLoss, "read " + r.file.string() + " at " +
                                            std::to_string(r.offset + got) + ": " +
                                            (n == 0 ? "file too short" : errno_string(e)));
    }
    got += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return out;
}

std::string part_name(size_t index, size_t count) {
  return count == 1 ? "clip.mp4" : "clip-" + std::to_string(index + 1) + ".mp4";
}

// A clip as libzip reads it: the init bytes, then each fragment read from its segment file and
// hashed on the way, so that a fragment altered on disk since it was chained stops the export.
class ClipSource {
 public:
  ClipSource(const Bytes& init, const std::vector<BundleFragment>& fragments, std::string camera)
      : init_(init), fragments_(fragments), camera_(std::move(camera)) {
    total_ = init.size();
    for (const BundleFragment& f : fragments) total_ += f.bytes.size;
    zip_error_init(&error_);
  }
  ~ClipSource() {
    close_file();
    zip_error_fini(&error_);
  }
  const std::string& failure() const { return failure_; }

  static zip_int64_t callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    return static_cast<ClipSource*>(user)->handle(data, len, cmd);
  }

 private:
  zip_int64_t handle(void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    switch (cmd) {
      case ZIP_SOURCE_OPEN:
        position_ = 0;
        piece_ = 0;
        piece_done_ = 0;
        hasher_ = std::make_unique<Sha256Hasher>();
        return 0;
      case ZIP_SOURCE_READ:
        return read(static_cast<uint8_t*>(data), len);
      case ZIP_SOURCE_CLOSE:
        close_file();
        return 0;
      case ZIP_SOURCE_STAT: {
        auto* st = static_cast<zip_stat_t*>(data);
        zip_stat_init(st);
        st->size = total_;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof(zip_stat_t);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&error_, data, len);
      case ZIP_SOURCE_FREE:
        return 0;
      case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
      default:
        zip_error_set(&error_, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

  zip_int64_t fail(const std::string& why) {
    failure_ = why;
    zip_error_set(&error_, ZIP_ER_READ, 0);
    return -1;
  }

  // Pieces: 0 is the init segment, k >= 1 is fragments_[k - 1].
  zip_int64_t read(uint8_t* out, zip_uint64_t len) {
    zip_uint64_t written = 0;
    while (written < len && position_ < total_) {
      if (piece_ == 0) {
        const uint64_t n = std::min<uint64_t>(len - written, init_.size() - piece_done_);
        std::copy_n(init_.begin() + static_cast<ptrdiff_t>(piece_done_), n, out + written);
        advance(n);
        written += n;
        continue;
      }
      const BundleFragment& f = fragments_[piece_ - 1];
      if (fd_ < 0) {
        fd_ = ::open(f.bytes.file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return fail("open " + f.bytes.file.string() + ": " + errno_string(errno));
      }
      const uint64_t want = std::min<uint64_t>(len - written, f.bytes.size - piece_done_);
      const ssize_t n =
          ::pread(fd_, out + written, want, static_cast<off_t>(f.bytes.offset + piece_done_));
      if (n <= 0) {
        return fail("read " + f.bytes.file.string() + " at " +
                    std::to_string(f.bytes.offset + piece_done_) + ": " +
                    (n == 0 ? "file too short" : errno_string(errno)));
      }
      hasher_->update(out + written, static_cast<size_t>(n));
      written += static_cast<uint64_t>(n);
      if (advance(static_cast<uint64_t>(n))) {
        // advance() finished the fragment: its bytes must be what the chain says.
        if (finished_hash_ != f.entry.fragment_hash) {
          return fail("camera " + camera_ + ": fragment " + std::to_string(f.entry.sequence) +
                      " (" + f.bytes.file.string() + " at " + std::to_string(f.bytes.offset) +
                      ") no longer matches its chain entry: the file was altered on disk");
        }
      }
    }
    return static_cast<zip_int64_t>(written);
  }

  // Moves on by n bytes; true when that finished a fragment (its hash is in finished_hash_).
  bool advance(uint64_t n) {
    position_ += n;
    piece_done_ += n;
    const uint64_t piece_size = piece_ == 0 ? init_.size() : fragments_[piece_ - 1].bytes.size;
    if (piece_done_ < piece_size) return false;
    const bool was_fragment = piece_ > 0;
    if (was_fragment) {
      finished_hash_ = hasher_->finish();
      hasher_ = std::make_unique<Sha256Hasher>();
      // The next fragment is usually in the same file; reopen only when it is not.
      if (piece_ < fragments_.size() &&
          fragments_[piece_].bytes.file != fragments_[piece_ - 1].bytes.file) {
        close_file();
      }
    }
    ++piece_;
    piece_done_ = 0;
    return was_fragment;
  }

  void close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const Bytes& init_;
  const std::vector<BundleFragment>& fragments_;
  std::string camera_;
  uint64_t total_ = 0;
  uint64_t position_ = 0;
  size_t piece_ = 0;
  uint64_t piece_done_ = 0;
  int fd_ = -1;
  std::unique_ptr<Sha256Hasher> hasher_;
  Sha256 finished_hash_{};
  zip_error_t error_;
  std::string failure_;
};

// VERIFY.txt: the checks of `vigil verify` spelled out for unzip, bash, coreutils, xxd and
// openssl, with this bundle's own numbers filled in so the commands can be pasted as they are.
std::string verify_text(const Manifest& m) {
  const ManifestEntry& first = m.entries.front();
  const ManifestEntry& last = m.entries.back();
  size_t before = 0, after = 0;  // 1-based checkpoint file numbers; 0: none
  for (size_t i = 0; i < m.checkpoints.size(); ++i) {
    if (m.checkpoints[i].checkpoint.sequence + 1 == first.entry.sequence) before = i + 1;
    if (m.checkpoints[i].checkpoint.sequence == last.entry.sequence) after = i + 1;
  }
  // In a canonical entry (hex), the sequence starts after version, kind and the camera string.
  const size_t seq_hex = 2 * (1 + 1 + 2 + m.camera_id.size());
  const std::string key =
      m.keys.size() == 1 ? "key.pem" : "keys/" + m.keys.front().fingerprint + ".pem";
  const std::string clip = m.parts.size() == 1 ? "clip.mp4" : "clip-$part.mp4";
  std::string t;
  t += "Verifying this evidence bundle with standard tools only\n";
  t += "=======================================================\n\n";
  t += "Camera " + m.camera_id + ", " + format_iso8601(m.from) + " to " + format_iso8601(m.to) +
       " (UTC).\n";
  t += "Format " + std::string(kBundleFormat) +
       "; chain entries and checkpoint messages version 1, as specified in vigil's\n"
       "docs/design/integrity.md (\"Formats\", \"Evidence bundle\"). Tools: unzip, bash, "
       "coreutils,\n"
       "xxd, openssl 1.1.1 or later. `vigil verify BUNDLE --key FINGERPRINT` does all of this at "
       "once.\n\n";
  t += "1. Unpack (the commands below run in that directory):\n\n"
       "   unzip -q BUNDLE.zip -d bundle && cd bundle\n\n";
  t += "2. The key. Compare its fingerprint with one you got from the recorder yourself (`vigil "
       "key\n"
       "   show`, the web UI's Settings > Storage): a bundle re-signed with another key passes "
       "every\n"
       "   other step.\n\n"
       "   openssl pkey -pubin -in " +
       key +
       " -outform DER | sha256sum\n\n"
       "   The bundle says: " +
       m.keys.front().fingerprint + "\n\n";
  t += "3. The signatures. Each command must print \"Signature Verified Successfully\":\n\n";
  for (size_t i = 1; i <= m.checkpoints.size(); ++i) {
    t += "   openssl pkeyutl -verify -pubin -inkey " + key + " -rawin -in checkpoints/" +
         std::to_string(i) + ".msg -sigfile checkpoints/" + std::to_string(i) + ".sig\n";
  }
  t += "   openssl pkeyutl -verify -pubin -inkey " + key +
       " -rawin -in export.msg -sigfile export.sig\n\n"
       "   export.msg is \"" +
       std::string(kExportStatementTag) +
       "\" followed by the SHA-256 of manifest.json; both lines must be equal:\n\n"
       "   tail -c 32 export.msg | xxd -p -c 32; sha256sum manifest.json | cut -c1-64\n\n";
  t += "4. What a checkpoint signs: \"vigil-checkpoint-v1\", the camera (u16 length + bytes), the\n"
       "   sequence (u64), the chain head (32 bytes), the wall time (i64 ms since 1970, UTC) and "
       "the\n"
       "   audit log's head (32 bytes), big-endian. Read from the end of a message:\n\n"
       "   echo $((16#$(tail -c 80 checkpoints/1.msg | head -c 8 | xxd -p)))   # sequence\n"
       "   tail -c 72 checkpoints/1.msg | head -c 32 | xxd -p -c 32         # chain head\n"
       "   echo $((16#$(tail -c 40 checkpoints/1.msg | head -c 8 | xxd -p)))   # wall time, ms\n\n";
  t += "5. The chain and the video. chain.tsv lists every chain entry from the checkpoint before "
       "the\n"
       "   range to the checkpoint after it: sequence, kind, part, offset, bytes, canonical entry\n"
       "   (hex) and link (hex). link = SHA-256(previous link || canonical entry). A fragment's\n"
       "   canonical entry ends with its init segment's hash, its own hash and an empty note "
       "(0000).\n"
       "   This loop recomputes every fragment's hash from the clip bytes and every link, and "
       "checks\n"
       "   that the sequence numbers have no holes; it must end with \"chain OK\":\n\n";
  t += before ? "   prev=$(tail -c 72 checkpoints/" + std::to_string(before) +
                    ".msg | head -c 32 | xxd -p -c 32)   # the head signed before the range\n"
              : "   prev=$(printf '%064d' 0)   # the chain starts here, at sequence 0\n";
  std::string ends;
  for (size_t k = 0; k < m.parts.size(); ++k) {
    ends += " [" + std::to_string(k + 1) + "]=" + std::to_string(m.parts[k].init_bytes);
  }
  t += "   ok=1; next=" + std::to_string(first.entry.sequence) + "; declare -A end=(" + ends +
       " )\n"
       "   while IFS=$'\\t' read -r seq kind part offset bytes canonical link; do\n"
       "     case $seq in \\#*) continue;; esac\n"
       "     [ $((16#${canonical:" +
       std::to_string(seq_hex) +
       ":16})) = \"$seq\" ] && [ \"$seq\" = \"$next\" ] ||\n"
       "       { echo \"entry $seq: sequence out of order\"; ok=0; }\n"
       "     next=$((seq + 1))\n"
       "     if [ \"$part\" != 0 ]; then\n"
       "       clip=" +
       clip +
       "\n"
       "       [ \"$offset\" = \"${end[$part]}\" ] || { echo \"fragment $seq: not where the one "
       "before ended\"; ok=0; }\n"
       "       h=$(tail -c +$((offset + 1)) \"$clip\" | head -c \"$bytes\" | sha256sum | cut "
       "-c1-64)\n"
       "       [ \"$h\" = \"${canonical: -68:64}\" ] || { echo \"fragment $seq: video bytes "
       "altered\"; ok=0; }\n"
       "       end[$part]=$((offset + bytes))\n"
       "     fi\n"
       "     prev=$(printf '%s%s' \"$prev\" \"$canonical\" | xxd -r -p | sha256sum | cut -c1-64)\n"
       "     [ \"$prev\" = \"$link\" ] || { echo \"entry $seq: link does not follow\"; ok=0; }\n"
       "   done < chain.tsv\n";
  t += after ? "   [ \"$prev\" = \"$(tail -c 72 checkpoints/" + std::to_string(after) +
                   ".msg | head -c 32 | xxd -p -c 32)\" ] || { echo \"chain does not reach the "
                   "signed head\"; ok=0; }\n"
             : "   echo \"no checkpoint signs the end of this chain\"; ok=0\n";
  t += "   [ $ok = 1 ] && echo \"chain OK\"\n\n";
  t +=
      "6. Nothing added or cut: each clip is its init segment followed by its fragments, exactly.\n"
      "   For each clip, the init segment's hash must be the one in its fragments' entries\n"
      "   (${canonical: -132:64} in the loop above), and the end of its last fragment its "
      "size:\n\n";
  for (size_t k = 0; k < m.parts.size(); ++k) {
    const ManifestPart& p = m.parts[k];
    t += "   head -c " + std::to_string(p.init_bytes) + " " + p.file + " | sha256sum   # " +
         hex(p.init_hash) + "\n";
    t += "   echo ${end[" + std::to_string(k + 1) + "]} $(stat -c %s " + p.file + ")   # both " +
         std::to_string(p.bytes) + "\n";
  }
  t +=
      "\n   A fragment listed with part 0 lies outside the range (it only links the chain); check\n"
      "   in manifest.json that every fragment whose time overlaps the range has a part.\n";
  if (!m.gaps.empty()) {
    t += "   Gaps (entries of kind gap or lost: nothing was recorded; they are chained like "
         "fragments):\n";
    for (const ManifestGap& g : m.gaps) {
      t +=
          "     " + format_iso8601(g.from) + " .. " + format_iso8601(g.to) + ": " + g.reason + "\n";
    }
  }
  if (!m.attachments.empty()) {
    t += "\n   Files beside the footage, covered by manifest.json (so by export.sig): each line "
         "must\n   print the hash the manifest gives (\"attachments\" there):\n\n";
    for (const ManifestAttachment& a : m.attachments) {
      t += "   sha256sum " + a.file + " | cut -c1-64   # " + hex(a.sha256) + " (" + a.kind +
           ")\n";
    }
  }
  t +=
      "\n7. Trusted timestamps: a checkpoint N with an RFC 3161 token has checkpoints/N.tsr:\n\n"
      "   openssl ts -verify -data checkpoints/N.msg -in checkpoints/N.tsr -CAfile TSA-CA.pem\n\n"
      "   with the certificate of the time-stamping authority's CA, obtained from it.\n\n"
      "What this proves: these are the bytes the recorder chained when it wrote them, nothing was\n"
      "removed, added or reordered between the two signed checkpoints, and the key holder signed\n"
      "the chain at the checkpoint times (by the recorder's clock unless a TSA token says so).\n"
      "It does not prove that what the camera saw was true, nor that the recorder's clock was "
      "right.\n";
  return t;
}

// Reads the init segments and lays the entries out as the manifest states them.
Manifest build_manifest(const BundleInput& in, std::vector<Bytes>& inits) {
  Manifest m;
  m.camera_id = in.camera_id;
  m.camera_name = in.camera_name;
  m.from = in.from;
  m.to = in.to;
  for (size_t k = 0; k < in.parts.size(); ++k) {
    const BundlePart& part = in.parts[k];
    inits.push_back(std::holds_alternative<Bytes>(part.init)
                        ? std::get<Bytes>(part.init)
                        : read_range(std::get<FileRange>(part.init)));
    ManifestPart mp;
    mp.file = part_name(k, in.parts.size());
    mp.init_bytes = inits.back().size();
    mp.init_hash = sha256_of(inits.back());
    uint64_t offset = mp.init_bytes;
    for (const BundleFragment& f : part.fragments) {
      m.entries.push_back({f.entry, canonical_chain_entry(f.entry), f.link,
                           static_cast<uint32_t>(k + 1), offset, f.bytes.size});
      offset += f.bytes.size;
    }
    mp.bytes = offset;
    m.parts.push_back(std::move(mp));
  }
  for (const BundleLinkOnly& l : in.link_only) {
    m.entries.push_back({l.entry, canonical_chain_entry(l.entry), l.link, 0, 0, 0});
  }
  std::stable_sort(m.entries.begin(), m.entries.end(),
                   [](const ManifestEntry& a, const ManifestEntry& b) {
                     return a.entry.sequence < b.entry.sequence;
                   });
  m.gaps = gaps_of(m.entries);

  std::vector<PublicKey> keys = {in.statement_key.public_key};
  std::vector<BundleCheckpoint> checkpoints = in.checkpoints;
  std::stable_sort(checkpoints.begin(), checkpoints.end(), [](const auto& a, const auto& b) {
    return a.checkpoint.sequence < b.checkpoint.sequence;
  });
  for (const BundleCheckpoint& c : checkpoints) {
    if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) keys.push_back(c.key);
    m.checkpoints.push_back({c.checkpoint, checkpoint_message(c.checkpoint), c.signature,
                             key_fingerprint(c.key), c.tsa_token});
  }
  for (const PublicKey& k : keys) m.keys.push_back({key_fingerprint(k), public_key_pem(k)});
  m.exporter = {in.exporter.user, in.exporter.time, in.exporter.address};
  m.audit_entry = in.audit_entry;
  for (const BundleAttachment& a : in.attachments) {
    m.attachments.push_back({a.file, a.kind, a.content.size(), sha256_of(a.content)});
  }
  return m;
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

}  // namespace

Manifest bundle_manifest(const BundleInput& input) {
  std::vector<Bytes> inits;
  return build_manifest(input, inits);
}

void write_evidence_bundle(const BundleInput& in, const std::filesystem::path& out) {
  const std::string context =
      "evidence bundle of camera " + in.camera_id + " (" + out.string() + ")";
  std::vector<Bytes> inits;
  const Manifest m = build_manifest(in, inits);
  if (const auto bad = bad_attachment(m.attachments)) {
    throw Error(ErrorCode::kInvalidArgument,
                context + ": \"" + m.attachments[*bad].file + "\" cannot be an attached file's name");
  }
  // The same checks `vigil verify` makes, before anything is written: a bundle that could not
  // verify is an error now rather than a surprise in court.
  const std::vector<VerifyProblem> problems = check_manifest(m, std::nullopt);
  if (!problems.empty()) {
    const VerifyProblem& p = problems.front();
    std::string where;
    if (p.entry) where = "sequence " + std::to_string(m.entries[*p.entry].entry.sequence) + ": ";
    throw Error(ErrorCode::kInvalidArgument,
                context + ": the chain does not verify: " + where + p.message);
  }

  // Small members, kept alive until zip_close reads them.
  std::deque<std::string> texts;
  std::vector<std::pair<std::string, const std::string*>> members;
  auto add_text = [&](std::string name, std::string data) {
    texts.push_back(std::move(data));
    members.emplace_back(std::move(name), &texts.back());
  };
  const std::string manifest = manifest_json(m);
  const Bytes statement = export_statement(manifest);
  const Signature statement_sig = sign(in.statement_key, statement);
  add_text("VERIFY.txt", verify_text(m));
  add_text("manifest.json", manifest);
  add_text("chain.tsv", chain_tsv(m));
  add_text("export.msg", std::string(statement.begin(), statement.end()));
  add_text("export.sig", std::string(statement_sig.begin(), statement_sig.end()));
  if (m.keys.size() == 1) {
    add_text("key.pem", m.keys[0].pem);
  } else {
    for (const ManifestKey& k : m.keys) add_text("keys/" + k.fingerprint + ".pem", k.pem);
  }
  for (const BundleAttachment& a : in.attachments) add_text(a.file, a.content);
  for (size_t i = 0; i < m.checkpoints.size(); ++i) {
    const ManifestCheckpoint& c = m.checkpoints[i];
    const std::string stem = "checkpoints/" + std::to_string(i + 1);
    add_text(stem + ".msg", std::string(c.message.begin(), c.message.end()));
    add_text(stem + ".sig", std::string(c.signature.begin(), c.signature.end()));
    if (!c.tsa_token.empty())
      add_text(stem + ".tsr", std::string(c.tsa_token.begin(), c.tsa_token.end()));
  }

  const std::filesystem::path partial = out.string() + ".partial";
  int err = 0;
  std::unique_ptr<zip_t, ZipDiscard> z(zip_open(partial.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  if (!z) throw Error(ErrorCode::kUnavailable, context + ": cannot create " + partial.string());
  const time_t mtime = static_cast<time_t>(ms_since_epoch(in.exporter.time) / 1000);
  auto add = [&](const std::string& name, zip_source_t* src, bool store) {
    if (!src) throw Error(ErrorCode::kInternal, context + ": " + zip_strerror(z.get()));
    const zip_int64_t index = zip_file_add(z.get(), name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      throw Error(ErrorCode::kInternal, context + ": add " + name + ": " + zip_strerror(z.get()));
    }
    const auto i = static_cast<zip_uint64_t>(index);
    // Video does not compress; storing it keeps the clip readable at full disk speed.
    if ((store && zip_set_file_compression(z.get(), i, ZIP_CM_STORE, 0) != 0) ||
        zip_file_set_mtime(z.get(), i, mtime, 0) != 0) {
      throw Error(ErrorCode::kInternal, context + ": " + name + ": " + zip_strerror(z.get()));
    }
  };
  for (const auto& [name, data] : members) {
    add(name, zip_source_buffer(z.get(), data->data(), data->size(), 0), false);
  }
  std::vector<std::unique_ptr<ClipSource>> clips;
  for (size_t k = 0; k < in.parts.size(); ++k) {
    clips.push_back(std::make_unique<ClipSource>(inits[k], in.parts[k].fragments, in.camera_id));
    add(m.parts[k].file, zip_source_function(z.get(), &ClipSource::callback, clips.back().get()),
        true);
  }
  if (zip_close(z.get()) != 0) {
    std::string why = zip_strerror(z.get());
    ErrorCode code = ErrorCode::kUnavailable;
    for (const auto& c : clips) {
      if (!c->failure().empty()) {
        why = c->failure();
        code = ErrorCode::kDataLoss;
        break;
      }
    }
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw Error(code, context + ": " + why);
  }
  z.release();  // zip_close freed it
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec) throw Error(ErrorCode::kUnavailable, context + ": rename: " + ec.message());
}

}  // namespace vigil
