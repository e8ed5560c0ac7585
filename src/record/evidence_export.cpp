// Reads an evidence bundle's contents from the catalog (see evidence_export.h).
#include "record/evidence_export.h"

#include "core/error.h"
#include "integrity/key_store.h"
#include "record/fragment_index.h"

namespace vigil {
namespace {

// A fragment whose bytes go into the bundle.
struct Wanted {
  FileRange init;
  FileRange bytes;
};

std::string range_text(const std::string& camera, WallTime from, WallTime to) {
  return "camera " + camera + " from " + format_iso8601(from) + " to " + format_iso8601(to);
}

}  // namespace

std::string evidence_audit_detail(const EvidencePlan& plan, const std::string& context) {
  return "evidence bundle of " + std::to_string(plan.fragments) + " fragments in " +
         std::to_string(plan.input.parts.size()) + " part(s)" +
         (context.empty() ? "" : " (" + context + ")") +
         (plan.note.empty() ? "" : "; " + plan.note);
}

void complete_evidence_input(EvidencePlan& plan, const AuditEntry& written,
                             const std::optional<Sha256>& audit_link, const KeyPair& key) {
  const std::string user = written.user_name.value_or("");
  plan.input.exporter = {user, written.at, written.address};
  plan.input.audit_entry = {written.id,     written.at,      user,
                            written.action, written.detail, written.address,
                            audit_link ? hex(*audit_link) : std::string()};
  plan.input.statement_key = key;
}

std::map<std::string, PublicKey> known_signing_keys(Catalog& catalog,
                                                    const std::filesystem::path& data_dir) {
  std::map<std::string, PublicKey> keys;
  for (const auto& k : catalog.signing_keys()) {
    if (auto pk = parse_public_key_pem(k.public_key_pem)) {
      // The fingerprint is recomputed: a row that names one key and holds another is no key.
      if (key_fingerprint(*pk) == k.fingerprint) keys[k.fingerprint] = *pk;
    }
  }
  try {
    for (const auto& k : stored_public_keys(data_dir)) keys[k.fingerprint] = k.public_key;
  } catch (const Error&) {
    // A damaged key file: the catalog's copy may still do; a checkpoint without a key is
    // reported by whoever needs it.
  }
  return keys;
}

EvidencePlan plan_evidence_bundle(Catalog& catalog, const std::filesystem::path& data_dir,
                                  const std::string& camera, const std::string& camera_name,
                                  WallTime from, WallTime to) {
  const std::string what = range_text(camera, from, to);
  EvidencePlan plan;
  // The fragments in the range, by sequence. Only closed files: a file being written has no
  // fragment index in its row yet, and its last fragments are not signed yet anyway.
  std::map<uint64_t, Wanted> wanted;
  bool open_file = false;
  for (const SegmentRow& s : catalog.segments_between(camera, from, to)) {
    if (s.state == SegmentState::kWriting) open_file = true;
    if (s.state != SegmentState::kClosed) continue;
    // Files recorded before the chain existed have no rows: nothing vouches for them.
    const std::vector<ChainRow> rows = catalog.chain_rows_of_segment(s.id);
    if (rows.empty()) continue;
    const auto frags = decode_fragment_index(s.fragment_index, s.init_bytes);
    if (!frags) {
      throw Error(ErrorCode::kDataLoss, "camera " + camera + ": segment " + s.path +
                                            " has a malformed fragment index in the catalog");
    }
    const std::filesystem::path file = data_dir / s.path;
    for (const ChainRow& r : rows) {
      if (r.entry.kind != ChainKind::kFragment) continue;
      const WallTime end = r.entry.wall_start + to_wall(r.entry.duration);
      if (end <= from || r.entry.wall_start >= to) continue;
      if (r.fragment_position < 0 || static_cast<size_t>(r.fragment_position) >= frags->size()) {
        throw Error(ErrorCode::kDataLoss,
                    "camera " + camera + ": chain entry " + std::to_string(r.entry.sequence) +
                        " names fragment " + std::to_string(r.fragment_position) + " of " +
                        s.path + ", which has " + std::to_string(frags->size()));
      }
      const Fragment& f = (*frags)[static_cast<size_t>(r.fragment_position)];
      wanted[r.entry.sequence] = {FileRange{file, 0, s.init_bytes, s.archive_key},
                                  FileRange{file, f.offset, f.size, s.archive_key}};
    }
  }
  if (wanted.empty()) {
    throw Error(ErrorCode::kNotFound,
                "no chained footage of " + what +
                    (open_file ? " in closed files (the file being recorded closes within "
                                 "segment_seconds)"
                               : ""));
  }

  // The checkpoint at or after the last fragment ends the bundle. Without one, the bundle ends
  // at the newest checkpoint: what comes after it is not signed yet.
  const uint64_t first = wanted.begin()->first;
  auto after = catalog.checkpoint_at_or_after(camera, wanted.rbegin()->first);
  bool unsigned_tail = false;
  if (!after) {
    after = catalog.checkpoint_before(camera, wanted.rbegin()->first);
    if (!after || after->checkpoint.sequence < first) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "the footage of " + what +
                      " is not signed by a checkpoint yet (one is made every checkpoint_seconds "
                      "and at every segment close); export it again shortly");
    }
    wanted.erase(wanted.upper_bound(after->checkpoint.sequence), wanted.end());
    unsigned_tail = true;
  }
  const auto before = first > 0 ? catalog.checkpoint_before(camera, first) : std::nullopt;
  const uint64_t start_seq = before ? before->checkpoint.sequence + 1 : 0;
  const uint64_t end_seq = after->checkpoint.sequence;
  const std::vector<ChainRow> rows = catalog.chain_rows_between(camera, start_seq, end_seq);
  if (rows.size() != end_seq - start_seq + 1) {
    throw Error(ErrorCode::kDataLoss, "camera " + camera + ": the chain between entries " +
                                          std::to_string(start_seq) + " and " +
                                          std::to_string(end_seq) + " has " +
                                          std::to_string(rows.size()) +
                                          " rows: entries were removed (vigil check names them)");
  }

  BundleInput& in = plan.input;
  in.camera_id = camera;
  in.camera_name = camera_name;
  in.from = from;
  in.to = to;
  // A part runs while fragments with bytes follow one another in one file.
  int64_t part_segment = -1;
  for (const ChainRow& r : rows) {
    const auto w = wanted.find(r.entry.sequence);
    if (w == wanted.end()) {
      in.link_only.push_back({r.entry, r.link});
      part_segment = -1;
      continue;
    }
    if (r.segment_id != part_segment) {
      in.parts.push_back(BundlePart{w->second.init, {}});
      part_segment = r.segment_id;
    }
    in.parts.back().fragments.push_back({r.entry, r.link, w->second.bytes});
    if (plan.fragments++ == 0) plan.footage_start = r.entry.wall_start;
    plan.footage_end = r.entry.wall_start + to_wall(r.entry.duration);
  }
  if (unsigned_tail) {
    plan.note = "the footage after " + format_iso8601(plan.footage_end) +
                " is not signed by a checkpoint yet and is left out; export it again after the "
                "next checkpoint (within checkpoint_seconds)";
  } else if (open_file && plan.footage_end < to) {
    plan.note = "the footage after " + format_iso8601(plan.footage_end) +
                " is in the file being recorded and is left out; export it again once that file "
                "closes (within segment_seconds)";
  }

  const auto keys = known_signing_keys(catalog, data_dir);
  for (const auto& cp : {before, after}) {
    if (!cp) continue;
    const auto key = keys.find(cp->key_fingerprint);
    if (key == keys.end()) {
      throw Error(ErrorCode::kDataLoss,
                  "camera " + camera + ": the checkpoint at entry " +
                      std::to_string(cp->checkpoint.sequence) + " (" +
                      format_iso8601(cp->checkpoint.wall_time) + ") is signed by unknown key " +
                      cp->key_fingerprint);
    }
    in.checkpoints.push_back(
        {cp->checkpoint, cp->signature, key->second, cp->tsa_token.value_or(Bytes{})});
  }
  return plan;
}

}  // namespace vigil
