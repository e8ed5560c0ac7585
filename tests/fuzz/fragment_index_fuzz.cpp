// libFuzzer target: a fragment index blob as read back from the catalog
// (decode_fragment_index). A malformed blob is nullopt; a decoded one must encode back to the
// same fragments, with offsets and start times the running sums of sizes and durations.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "record/fragment_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> blob(data, data + size);
  constexpr uint64_t kInitBytes = 1234;
  const auto fragments = vigil::decode_fragment_index(blob, kInitBytes);
  if (!fragments) return 0;
  const auto again = vigil::decode_fragment_index(vigil::encode_fragment_index(*fragments), kInitBytes);
  if (!again || again->size() != fragments->size()) __builtin_trap();
  for (size_t i = 0; i < again->size(); ++i) {
    const vigil::Fragment& a = (*fragments)[i];
    const vigil::Fragment& b = (*again)[i];
    if (a.offset != b.offset || a.size != b.size || a.start != b.start || a.duration != b.duration) {
      __builtin_trap();
    }
  }
  return 0;
}
