// `vigil check`'s walk of the hash chains (docs/design/integrity.md, "Checking"): each camera's
// entries in sequence order, every link recomputed from the row before it, every checkpoint's
// signature verified against the key that signed it and its head against the chain. What the
// fragments' bytes say is compared per segment in recovery.cpp (check_catalog).
#include "core/error.h"
#include "integrity/key_store.h"
#include "integrity/verify.h"
#include "record/evidence_export.h"
#include "record/recovery.h"

namespace vigil {
namespace {

std::string describe(const ChainRow& r, Catalog& catalog) {
  std::string s = "entry " + std::to_string(r.entry.sequence) + " at " +
                  format_iso8601(r.entry.wall_start);
  if (r.segment_id) {
    if (const auto seg = catalog.segment(r.segment_id)) {
      s += " (" + seg->path + ", fragment " + std::to_string(r.fragment_position) + ")";
    }
  }
  return s;
}

}  // namespace

void check_chains(Catalog& catalog, const std::filesystem::path& data_dir, CheckReport& report) {
  const auto keys = known_signing_keys(catalog, data_dir);
  for (const std::string& camera : catalog.chain_cameras()) {
    auto issue = [&](const std::string& problem, std::optional<WallTime> at) {
      CheckIssue i{"camera " + camera + " chain", problem};
      i.camera_id = camera;
      i.at = at;
      report.issues.push_back(std::move(i));
    };
    // Checkpoints in sequence order, matched against the walk as it passes their sequence.
    const std::vector<CheckpointRow> cps = catalog.checkpoints(camera);
    size_t next_cp = 0;
    for (const CheckpointRow& cp : cps) {
      ++report.checkpoints;
      const auto key = keys.find(cp.key_fingerprint);
      if (key == keys.end()) {
        issue("checkpoint at entry " + std::to_string(cp.checkpoint.sequence) + " (" +
                  format_iso8601(cp.checkpoint.wall_time) + ") is signed by unknown key " +
                  cp.key_fingerprint,
              cp.checkpoint.wall_time);
      } else if (!verify_signature(key->second, checkpoint_message(cp.checkpoint), cp.signature)) {
        issue("checkpoint at entry " + std::to_string(cp.checkpoint.sequence) + " (" +
                  format_iso8601(cp.checkpoint.wall_time) +
                  ") has a bad signature: the checkpoint was edited or forged",
              cp.checkpoint.wall_time);
      }
      // Its RFC 3161 token (app/tsa_stamper.h) must be for this checkpoint's message; the TSA's
      // signature is for `vigil verify --tsa-ca` and `openssl ts -verify` with the TSA's CA.
      if (cp.tsa_token) {
        const TsaTokenCheck t =
            check_tsa_token(*cp.tsa_token, checkpoint_message(cp.checkpoint), std::nullopt);
        if (t.problem.empty()) {
          ++report.tsa_tokens;
        } else {
          issue("checkpoint at entry " + std::to_string(cp.checkpoint.sequence) + " (" +
                    format_iso8601(cp.checkpoint.wall_time) + "): " + t.problem,
                cp.checkpoint.wall_time);
        }
      }
    }
    uint64_t expected = 0;
    Sha256 previous = kChainGenesis;
    catalog.for_each_chain_row(camera, [&](const ChainRow& r) {
      ++report.chain_entries;
      if (r.entry.sequence != expected) {
        issue(describe(r, catalog) + ": the chain jumps from entry " +
                  (expected ? std::to_string(expected - 1) : std::string("(start)")) +
                  ": entries were removed",
              r.entry.wall_start);
      } else if (chain_link(previous, r.entry) != r.link) {
        issue(describe(r, catalog) + ": does not match its link: the row was edited, or the "
                                     "rows before it were",
              r.entry.wall_start);
      }
      // From the row's own link on: one edit is reported once, not at every later row.
      previous = r.link;
      expected = r.entry.sequence + 1;
      for (; next_cp < cps.size() && cps[next_cp].checkpoint.sequence <= r.entry.sequence;
           ++next_cp) {
        const Checkpoint& c = cps[next_cp].checkpoint;
        if (c.sequence == r.entry.sequence && c.head != r.link) {
          issue("checkpoint at entry " + std::to_string(c.sequence) + " (" +
                    format_iso8601(c.wall_time) + ") signed another chain head than the " +
                    "chain holds: the chain was rewritten",
                c.wall_time);
        }
      }
    });
    for (; next_cp < cps.size(); ++next_cp) {
      issue("checkpoint at entry " + std::to_string(cps[next_cp].checkpoint.sequence) +
                " is beyond the chain's end: entries were removed",
            cps[next_cp].checkpoint.wall_time);
    }
  }
}

}  // namespace vigil
