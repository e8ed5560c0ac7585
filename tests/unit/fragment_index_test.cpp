#include "record/fragment_index.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(FragmentIndex, RoundTripsWithDerivedOffsetsAndStarts) {
  std::vector<Fragment> in = {{800, 120'000, Ticks90k(0), Ticks90k(180'000)},
                              {120'800, 5, Ticks90k(180'000), Ticks90k(179'999)},
                              {120'805, 1ull << 33, Ticks90k(359'999), Ticks90k(1)}};
  const auto blob = encode_fragment_index(in);
  EXPECT_LT(blob.size(), 20u);
  const auto out = decode_fragment_index(blob, 800);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 3u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*out)[i].offset, in[i].offset);
    EXPECT_EQ((*out)[i].size, in[i].size);
    EXPECT_EQ((*out)[i].start, in[i].start);
    EXPECT_EQ((*out)[i].duration, in[i].duration);
  }
}

TEST(FragmentIndex, RejectsMalformedBlobs) {
  EXPECT_FALSE(decode_fragment_index({0x80}, 0));        // truncated varint
  EXPECT_FALSE(decode_fragment_index({0x05}, 0));        // size without duration
  EXPECT_FALSE(decode_fragment_index(std::vector<uint8_t>(11, 0xff), 0));  // overflow
  EXPECT_TRUE(decode_fragment_index({}, 0)->empty());
}

}  // namespace
}  // namespace vigil
