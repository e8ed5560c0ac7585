// manifest.json of an evidence bundle, as a typed struct: the writer serialises it, `vigil verify`
// parses it back from an untrusted file. The layout is specified in docs/design/integrity.md
// ("Evidence bundle").
//
// Why the manifest repeats what the canonical chain entries already hold (hashes, times): a
// reader without vigil reads the JSON; the verifier checks that both say the same, so editing
// only the readable fields is caught as well as editing the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integrity/chain.h"

namespace vigil {

inline constexpr std::string_view kBundleFormat = "vigil-evidence-bundle-1";
// The export statement (export.msg): this tag, then the SHA-256 of manifest.json. Signed by the
// recorder's key, it covers every manifest field no chain entry or checkpoint covers (exporter,
// audit entry, range).
inline constexpr std::string_view kExportStatementTag = "vigil-export-v1";

struct ManifestPart {
  std::string file;  // "clip.mp4", or "clip-N.mp4" when there are several parts
  uint64_t bytes = 0;
  uint64_t init_bytes = 0;  // ftyp+moov at the start of the file
  Sha256 init_hash{};
};

struct ManifestEntry {
  ChainEntry entry;  // the readable fields, as the manifest states them
  Bytes canonical;   // canonical_chain_entry bytes, as the manifest states them (hex)
  Sha256 link{};
  // For a fragment whose bytes are in the bundle: its part (1-based) and place in that clip.
  // 0 for gaps, lost tails and fragments outside the range that are only there to link the chain.
  uint32_t part = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct ManifestCheckpoint {
  Checkpoint checkpoint;  // as the manifest states it
  Bytes message;          // checkpoint_message bytes (hex in the manifest; also N.msg)
  Signature signature{};  // also N.sig
  std::string key_fingerprint;
  Bytes tsa_token;  // RFC 3161 TimeStampResp (DER); empty when there is none
};

struct ManifestKey {
  std::string fingerprint;
  std::string pem;
};

struct ManifestExporter {
  std::string user;
  WallTime time;
  std::string address;
};

// The export's own row in the audit log, as it was written (the audit chain links it).
struct ManifestAuditEntry {
  int64_t id = 0;
  WallTime time;
  std::string user;
  std::string action;
  std::string detail;
  std::string address;
  std::string link;  // hex of the audit chain link of this row; empty when there is none
};

struct ManifestGap {
  uint64_t sequence = 0;
  ChainKind kind = ChainKind::kGap;
  WallTime from;
  WallTime to;
  std::string reason;
};

// A file the bundle carries beside the footage (the transactions of the tills that watch the
// camera: "transactions.json"). The manifest gives its size and SHA-256, so the export statement's
// signature covers its bytes exactly as the checkpoints cover the clips'.
struct ManifestAttachment {
  std::string file;  // a plain name in the ZIP's top directory, e.g. "transactions.json"
  std::string kind;  // what it holds: "transactions" (docs/transactions.md, "In evidence bundles")
  uint64_t bytes = 0;
  Sha256 sha256{};
};

// Whether `name` may be an attachment's file: a plain name (letters, digits, '.', '-', '_'; no
// directory, not hidden) that is none of the bundle's own files or clips.
bool valid_attachment_name(std::string_view name);
// The index of the first attachment whose name is not valid or repeats an earlier one's.
std::optional<size_t> bad_attachment(const std::vector<ManifestAttachment>& attachments);

struct Manifest {
  std::string camera_id;
  std::string camera_name;
  WallTime from;
  WallTime to;
  std::vector<ManifestPart> parts;
  std::vector<ManifestEntry> entries;  // consecutive sequence numbers, in order
  std::vector<ManifestGap> gaps;       // the gap and lost entries again, for a human reader
  std::vector<ManifestCheckpoint> checkpoints;  // by sequence
  std::vector<ManifestKey> keys;
  ManifestExporter exporter;
  ManifestAuditEntry audit_entry;
  // In the manifest only when there is one: a bundle without attachments is what it was before.
  std::vector<ManifestAttachment> attachments;
};

// Pretty-printed JSON with keys in a fixed order, so the same manifest gives the same bytes.
std::string manifest_json(const Manifest& m);

// What ManifestEntry.entry and ManifestGap derive from; shared by writer and verifier.
std::vector<ManifestGap> gaps_of(const std::vector<ManifestEntry>& entries);

// The parsed manifest or, for anything malformed (not JSON, a missing or mistyped field, bad
// hex, absurd sizes), the reason. Untrusted input: never throws.
struct ManifestParse {
  std::optional<Manifest> manifest;
  std::string error;
};
ManifestParse parse_manifest(std::string_view json_text);

// chain.tsv: the entries one a line (sequence, kind, part, offset, bytes, canonical hex, link
// hex), so that VERIFY.txt's shell loop needs no JSON parser. Made from the manifest.
std::string chain_tsv(const Manifest& m);

// The export statement: kExportStatementTag || SHA-256(manifest_bytes).
Bytes export_statement(std::string_view manifest_bytes);

std::string_view chain_kind_name(ChainKind kind);

}  // namespace vigil
