// The fragment index of a segment file: where each fragment (moof+mdat, one GOP) lies and when
// it plays, so that any instant can be served by byte range without opening the file.
// Stored in the catalog as a compact blob: per fragment two unsigned LEB128 varints, byte size
// and media duration in 90 kHz ticks. Offsets and start times are running sums from the end of
// the init part (ftyp+moov), so they cannot disagree with the sizes. ~5 bytes per 2 s GOP.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/time.h"

namespace vigil {

struct Fragment {
  uint64_t offset = 0;  // of the moof box, from the start of the file
  uint64_t size = 0;    // moof + mdat
  Ticks90k start{0};    // media time from the start of the segment
  Ticks90k duration{0};
  // SHA-256 of the fragment's bytes, as the writer wrote them (SegmentWriter::flush_fragment);
  // zeros when read back from the index, which does not store it (the hash chain does).
  std::array<uint8_t, 32> sha256{};
};

// The sizes of a segment's parts in file order, init part first: what sha256_file_parts and
// segment_hash_matches walk.
std::vector<uint64_t> part_sizes(uint64_t init_bytes, const std::vector<Fragment>& fragments);

std::vector<uint8_t> encode_fragment_index(const std::vector<Fragment>& fragments);
// nullopt when the blob is malformed (truncated varint, overflow).
std::optional<std::vector<Fragment>> decode_fragment_index(const std::vector<uint8_t>& blob,
                                                           uint64_t init_bytes);

}  // namespace vigil
