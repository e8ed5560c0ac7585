// Writes an evidence bundle: one ZIP file that proves itself. It holds the original fragments
// byte for byte (clip.mp4, or clip-N.mp4 per part when the range crosses a gap or a codec
// change), manifest.json with every chain entry and link between two signed checkpoints, the
// checkpoint messages and signatures as files, the public key(s) as PEM, chain.tsv and
// VERIFY.txt, so that anyone can check it with unzip, sha256sum, xxd and openssl, or with
// `vigil verify`. The layout is in docs/design/integrity.md ("Evidence bundle").
//
// The writer takes a typed BundleInput (what the catalog's chain and checkpoint tables hold) and
// checks it before it writes: every link must follow from the previous one, the chain must run
// from a checkpoint (or the genesis) to a checkpoint without holes, every signature must hold and
// every fragment's bytes must still hash to its chain entry — an altered file on disk makes the
// export fail rather than produce a bundle that vouches for it.
#pragma once

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "integrity/bundle_manifest.h"
#include "integrity/chain.h"

namespace vigil {

// Bytes inside a file on disk (a segment's init part or one fragment).
struct FileRange {
  std::filesystem::path file;
  uint64_t offset = 0;
  uint64_t size = 0;
  // Set when the segment is in the archive: `file` is then read from a local copy of this
  // object that the export fetches first (serve/export.h).
  std::string archive_key;
};

struct BundleFragment {
  ChainEntry entry;  // kind kFragment
  Sha256 link{};     // as stored with the chain
  FileRange bytes;   // the moof+mdat in its segment file
};

// One playable clip: an init segment (ftyp+moov) and the fragments that follow it, in chain
// order. A new part starts wherever the init segment changes (a new segment file with other
// codec parameters) or a gap interrupts the footage.
struct BundlePart {
  std::variant<Bytes, FileRange> init;
  std::vector<BundleFragment> fragments;
};

// A chain entry whose bytes are not in the bundle: gaps and lost tails, and fragments between
// the checkpoint before and the start of the range (or the end of the range and the checkpoint
// after) that are only there so the chain links from one checkpoint to the next.
struct BundleLinkOnly {
  ChainEntry entry;
  Sha256 link{};
};

struct BundleCheckpoint {
  Checkpoint checkpoint;
  Signature signature{};
  PublicKey key{};  // the key that signed it (old keys stay valid for what they signed)
  Bytes tsa_token;  // RFC 3161 TimeStampResp, DER; empty when there is none
};

struct BundleExporter {
  std::string user;
  WallTime time;
  std::string address;  // the client's address, e.g. "192.0.2.10"; "cli" for the CLI
};

// A file carried beside the footage, e.g. "transactions.json" (kind "transactions"): the
// manifest names it with its size and SHA-256, so the export statement covers it. Written by
// whoever knows what it holds (serve: the transactions of the camera's tills); the bundle only
// carries and hashes it.
struct BundleAttachment {
  std::string file;  // valid_attachment_name()
  std::string kind;
  std::string content;
};

struct BundleInput {
  std::string camera_id;
  std::string camera_name;
  WallTime from;  // the range asked for
  WallTime to;
  std::vector<BundlePart> parts;          // in chain order
  std::vector<BundleLinkOnly> link_only;  // any order; merged with the parts by sequence
  // The checkpoint whose sequence is the first entry's predecessor (none when the first entry
  // is sequence 0: the chain starts at the genesis) and the checkpoint at the last entry; any
  // checkpoints in between may be added. Entries run from one to the other without holes.
  std::vector<BundleCheckpoint> checkpoints;
  BundleExporter exporter;
  ManifestAuditEntry audit_entry;
  // Signs the export statement (export.msg/.sig over manifest.json), which covers the fields
  // no checkpoint covers: exporter, audit entry, range. The recorder's current key.
  KeyPair statement_key;
  std::vector<BundleAttachment> attachments;  // none: the bundle has no attachment
};

// Writes the bundle to `out` (through a temporary file in the same directory, renamed at the
// end). Throws Error: kInvalidArgument when the input does not form a verifiable chain,
// kDataLoss when a fragment's bytes on disk no longer match its chain entry (naming file and
// sequence), kNotFound/kUnavailable for I/O.
void write_evidence_bundle(const BundleInput& input, const std::filesystem::path& out);

// The manifest the writer puts in the bundle (without reading any fragment bytes); exposed for
// tests and for the fuzz corpus.
Manifest bundle_manifest(const BundleInput& input);

}  // namespace vigil
