// libFuzzer target: what `vigil verify` reads from an untrusted evidence bundle before it touches
// any video: manifest.json through parse_manifest and check_manifest, and the raw canonical
// chain entry and checkpoint message decoders. Malformed input must be an error or a list of
// problems, never a crash or an exception; a manifest that parses must survive a round trip
// (written again and parsed again, it says the same), since the writer and verifier share it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "integrity/bundle_manifest.h"
#include "integrity/chain.h"
#include "integrity/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  if (auto e = parse_chain_entry(data, size)) {
    const Bytes again = canonical_chain_entry(*e);
    if (again != Bytes(data, data + size)) __builtin_trap();
  }
  if (auto c = parse_checkpoint_message(data, size)) {
    const Bytes again = checkpoint_message(*c);
    if (again != Bytes(data, data + size)) __builtin_trap();
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ManifestParse parsed = parse_manifest(text);
  if (!parsed.manifest) {
    if (parsed.error.empty()) __builtin_trap();  // a rejection must say why
    return 0;
  }
  const auto problems = check_manifest(*parsed.manifest, std::nullopt);
  for (const VerifyProblem& p : problems) {
    if (p.entry && *p.entry >= parsed.manifest->entries.size()) __builtin_trap();
  }
  const std::string written = manifest_json(*parsed.manifest);
  const ManifestParse again = parse_manifest(written);
  if (!again.manifest || manifest_json(*again.manifest) != written) __builtin_trap();
  (void)chain_tsv(*parsed.manifest);
  return 0;
}
