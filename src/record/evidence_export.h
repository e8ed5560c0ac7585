// What an evidence bundle of one camera over [from, to) holds, read from the catalog: the
// chained fragments of the closed segment files covering the range (as byte ranges of those
// files, never copied or remuxed), grouped into parts (a new part at every new segment file,
// gap or loss, since each file's media time starts again at 0 and may have other codec
// parameters), the gap and lost entries between them, the entries that link the range to the
// signed checkpoint before it and the one at or after it, those checkpoints with their public
// keys and RFC 3161 tokens. integrity/bundle.h then writes and checks the bundle; this file only
// reads rows. docs/design/integrity.md ("Exporting evidence") says how the range is chosen.
//
// Footage after the newest checkpoint (at most checkpoint_seconds old while a camera records;
// every segment close also signs one) and footage of a file still being written are left out:
// the bundle ends at the last signed, closed fragment, and EvidencePlan::note says so.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "integrity/bundle.h"

namespace vigil {

struct EvidencePlan {
  // Everything but exporter, audit entry and statement key, which the caller adds (the audit
  // entry is written once the plan is known, so that it says what the bundle holds).
  BundleInput input;
  size_t fragments = 0;  // with bytes in the bundle
  WallTime footage_start;  // of the first fragment with bytes in the bundle
  WallTime footage_end;    // end of the last one
  // Why the bundle ends before `to` (footage not signed yet, or still being written); "" when
  // it does not.
  std::string note;
};

// Plans the bundle of `camera` (named `camera_name` in the manifest) over [from, to). Throws
// Error: kNotFound when no chained footage of a closed file lies in the range,
// kFailedPrecondition when some does but no checkpoint covers it yet, kDataLoss when the
// catalog's chain is inconsistent (missing entries, a position outside its file's fragment
// index, a checkpoint signed by an unknown key) — each naming camera and time.
EvidencePlan plan_evidence_bundle(Catalog& catalog, const std::filesystem::path& data_dir,
                                  const std::string& camera, const std::string& camera_name,
                                  WallTime from, WallTime to);

// The detail of the export's audit row ("evidence bundle of N fragments in M part(s)", then
// `context` in brackets when given, then the note): written before the bundle, which carries it.
std::string evidence_audit_detail(const EvidencePlan& plan, const std::string& context);
// Completes the plan's input with the exporter (the audit row's user, time and address), that
// row (`written`, as append_audit stored it, with its chain link) and the key that signs the
// export statement.
void complete_evidence_input(EvidencePlan& plan, const AuditEntry& written,
                             const std::optional<Sha256>& audit_link, const KeyPair& key);

// Every public key known, by fingerprint: the catalog's signing_key rows and the keys in
// <data>/keys/ (a key whose row was lost still verifies). A row whose PEM does not give its
// fingerprint is no key.
std::map<std::string, PublicKey> known_signing_keys(Catalog& catalog,
                                                    const std::filesystem::path& data_dir);

}  // namespace vigil
