// `vigil verify`: checks an evidence bundle offline, without a catalog. Everything in the bundle
// is untrusted: a malformed ZIP or manifest is a verdict ("not verified: …"), never an
// exception. The steps are in docs/design/integrity.md ("Evidence bundle", "Verifying").
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "integrity/bundle_manifest.h"

namespace vigil {

struct VerifyProblem {
  // Index into Manifest::entries of the entry the problem is about; nullopt for problems of
  // the bundle as a whole (a checkpoint, a key, the export statement).
  std::optional<size_t> entry;
  std::string message;
};

// The chain-level checks that need no fragment bytes: the readable fields against the canonical
// entries, consecutive sequence numbers, every link, the checkpoints' messages, signatures and
// heads, that the chain runs from the checkpoint before (or the genesis) to the checkpoint
// after, that every part's fragments tile its clip, that no fragment overlapping the range is
// left out, the keys (and the trusted fingerprint when given). Pure; the writer runs it on what
// it is about to write, the fuzz target on hostile manifests.
std::vector<VerifyProblem> check_manifest(const Manifest& m,
                                          const std::optional<std::string>& trusted_fingerprint);

struct VerifyReport {
  bool ok = false;
  std::optional<Manifest> manifest;     // when manifest.json could be parsed
  std::vector<VerifyProblem> problems;  // all that were found
  // The first entry (in chain order) with a problem, if any is tied to one.
  std::optional<size_t> first_bad_entry;
  size_t fragments = 0;           // fragments whose bytes are in the clips
  uint64_t clip_bytes = 0;        // their bytes
  bool statement_signed = false;  // export.msg/.sig present and valid
  size_t tsa_tokens = 0;          // checkpoints that carry an RFC 3161 token
  // Per checkpoint (same index as Manifest::checkpoints) with a token: the time the TSA
  // vouches for, once the token is known to be for that checkpoint's message.
  std::vector<std::optional<WallTime>> tsa_times;
  bool tsa_signatures_checked = false;  // against the CA given; otherwise with each token's
                                        // own certificate
};

// `tsa_ca`: a PEM file with the certificate(s) of the time-stamping authority's CA. Without
// it a token is checked to be for its checkpoint's message (the imprint) and to be signed by the
// certificate it carries (so that it was not altered), and its time reported, but which TSA
// that certificate belongs to is not checked.
VerifyReport verify_evidence_bundle(
    const std::filesystem::path& bundle, const std::optional<std::string>& trusted_fingerprint,
    const std::optional<std::filesystem::path>& tsa_ca = std::nullopt);

// An RFC 3161 TimeStampResp (DER) for `message` (SHA-256 imprint): the time it vouches for, or
// the reason it does not hold. Untrusted input: never throws.
struct TsaTokenCheck {
  std::optional<WallTime> time;
  std::string problem;  // empty when it holds
};
TsaTokenCheck check_tsa_token(const Bytes& token, const Bytes& message,
                              const std::optional<std::filesystem::path>& tsa_ca);

// The short human report: camera, range in UTC and local time, fragments, keys, checkpoint
// times, the first bad fragment with its time, the verdict.
std::string format_verify_report(const VerifyReport& r,
                                 const std::optional<std::string>& trusted_fingerprint);

}  // namespace vigil
