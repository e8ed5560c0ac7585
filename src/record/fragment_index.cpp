#include "record/fragment_index.h"

namespace vigil {
namespace {

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

bool get_varint(const std::vector<uint8_t>& in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    const uint8_t b = in[pos++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

}  // namespace

std::vector<uint64_t> part_sizes(uint64_t init_bytes, const std::vector<Fragment>& fragments) {
  std::vector<uint64_t> sizes{init_bytes};
  for (const Fragment& f : fragments) sizes.push_back(f.size);
  return sizes;
}

std::vector<uint8_t> encode_fragment_index(const std::vector<Fragment>& fragments) {
  std::vector<uint8_t> out;
  out.reserve(fragments.size() * 6);
  for (const Fragment& f : fragments) {
    put_varint(out, f.size);
    put_varint(out, static_cast<uint64_t>(f.duration.count()));
  }
  return out;
}

std::optional<std::vector<Fragment>> decode_fragment_index(const std::vector<uint8_t>& blob,
                                                           uint64_t init_bytes) {
  std::vector<Fragment> out;
  size_t pos = 0;
  uint64_t offset = init_bytes;
  Ticks90k start{0};
  while (pos < blob.size()) {
    uint64_t size = 0;
    uint64_t dur = 0;
    if (!get_varint(blob, pos, size) || !get_varint(blob, pos, dur)) return std::nullopt;
    if (dur > (1ull << 40)) return std::nullopt;
    Fragment f{offset, size, start, Ticks90k(static_cast<int64_t>(dur))};
    offset += size;
    start += f.duration;
    out.push_back(f);
  }
  return out;
}

}  // namespace vigil
