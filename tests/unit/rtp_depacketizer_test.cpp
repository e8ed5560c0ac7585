// RTP to codec frames: packetization modes, frame boundaries, loss and timestamp wrap-around.
#include <gtest/gtest.h>

#include <vector>

#include "ingest/rtp_depacketizer.h"

namespace vigil {
namespace {

using Bytes = std::vector<uint8_t>;

// Builds one RTP packet (version 2, no CSRC) around a payload.
Bytes rtp(uint16_t seq, uint32_t ts, bool marker, const Bytes& payload, uint8_t pt = 96) {
  Bytes p = {0x80, static_cast<uint8_t>((marker ? 0x80 : 0) | pt),
             static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq),
             static_cast<uint8_t>(ts >> 24), static_cast<uint8_t>(ts >> 16),
             static_cast<uint8_t>(ts >> 8), static_cast<uint8_t>(ts),
             1, 2, 3, 4};
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

void feed(Depacketizer& d, const Bytes& packet, std::vector<CodecFrame>& out) {
  const auto p = parse_rtp(packet);
  ASSERT_TRUE(p);
  d.push(*p, out);
}

Bytes annexb(std::initializer_list<Bytes> nals) {
  Bytes out;
  for (const Bytes& n : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

const Bytes kSps = {0x67, 0x42, 0x00, 0x1f, 0xaa};
const Bytes kPps = {0x68, 0xce, 0x3c, 0x80};
const Bytes kIdr = {0x65, 0x88, 0x84, 0x00, 0x11, 0x22, 0x33};
const Bytes kSlice = {0x41, 0x9a, 0x02, 0x03};

TEST(RtpPacket, ParsesHeaderExtensionAndPadding) {
  Bytes p = {0x90 | 0x20, 0x60, 0x00, 0x07, 0, 0, 0, 42, 1, 2, 3, 4,
             0xbe, 0xde, 0x00, 0x01, 9, 9, 9, 9,  // one word of extension
             0xAA, 0xBB, 0, 0, 3};                 // payload, then 3 bytes of padding
  const auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sequence, 7);
  EXPECT_EQ(r->timestamp, 42u);
  EXPECT_EQ(r->payload_type, 0x60);
  ASSERT_EQ(r->payload.size(), 2u);
  EXPECT_EQ(r->payload[0], 0xAA);
  EXPECT_FALSE(parse_rtp(Bytes{0x40, 0, 0, 0}));            // too short
  EXPECT_FALSE(parse_rtp(Bytes(12, 0)));                    // version 0
}

// Regression (issue 16, tests/fuzz/regressions/rtp/parse_rtp_csrc_padding_underflow): 15 CSRCs
// make a 72-byte header in a 14-byte packet, and the padding count (0xaf) is larger than the
// packet. The padding bound `end - header` underflowed, `end -= pad` wrapped, and the payload
// span ran past the buffer into the depacketizer.
TEST(RtpPacket, RefusesCsrcsLongerThanThePacketWithPadding) {
  EXPECT_FALSE(parse_rtp(Bytes{0xaf, 0xaf, 0xaf, 0xaf, 0xaf, 0xaf, 0xaf, 0, 0, 0, 0, 0, 0, 0xaf}));
  // The 17-byte form: two CSRCs (a 20-byte header), padding 0xff.
  Bytes p = rtp(1, 2, false, {0xAA, 0xBB, 0xCC, 0xDD, 0xFF});
  p[0] = 0x80 | 0x20 | 2;
  ASSERT_EQ(p.size(), 17u);
  EXPECT_FALSE(parse_rtp(p));
  // Padding within a payload that fits is still removed.
  p[0] = 0x80 | 0x20;
  p.back() = 2;
  const auto ok = parse_rtp(p);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->payload.size(), 3u);
}

TEST(H264Depacketizer, AssemblesSingleStapAndFragmentedUnits) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {});
  std::vector<CodecFrame> out;
  // Keyframe: SPS+PPS aggregated (STAP-A), then the IDR slice split in three (FU-A).
  Bytes stap = {0x18, 0, static_cast<uint8_t>(kSps.size())};
  stap.insert(stap.end(), kSps.begin(), kSps.end());
  stap.insert(stap.end(), {0, static_cast<uint8_t>(kPps.size())});
  stap.insert(stap.end(), kPps.begin(), kPps.end());
  feed(d, rtp(100, 9000, false, stap), out);
  feed(d, rtp(101, 9000, false, {0x7c, 0x85, 0x88, 0x84}), out);        // start
  feed(d, rtp(102, 9000, false, {0x7c, 0x05, 0x00, 0x11}), out);        // middle
  feed(d, rtp(103, 9000, true, {0x7c, 0x45, 0x22, 0x33}), out);         // end + marker
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].key);
  EXPECT_EQ(out[0].timestamp, 9000);
  EXPECT_EQ(out[0].data, annexb({kSps, kPps, kIdr}));
  EXPECT_EQ(d.extradata(), annexb({kSps, kPps}));
  // A single-NAL frame.
  feed(d, rtp(104, 12600, true, kSlice), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[1].key);
  EXPECT_EQ(out[1].timestamp, 12600);
  EXPECT_EQ(out[1].data, annexb({kSlice}));
  EXPECT_EQ(d.frames_dropped(), 0u);
}

TEST(H264Depacketizer, StartsAtAKeyframeAndResumesAtOneAfterLoss) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {kSps, kPps});
  EXPECT_EQ(d.extradata(), annexb({kSps, kPps}));  // from the SDP
  std::vector<CodecFrame> out;
  feed(d, rtp(1, 0, true, kSlice), out);  // joined mid-GOP: not decodable
  EXPECT_TRUE(out.empty());
  feed(d, rtp(2, 3600, true, kIdr), out);
  feed(d, rtp(3, 7200, true, kSlice), out);
  ASSERT_EQ(out.size(), 2u);
  // Packet 5 is lost: the FU-A of frame 10800 misses its middle, and frames after it refer to
  // a picture that was never complete.
  feed(d, rtp(4, 10800, false, {0x7c, 0x81, 0x9a}), out);
  feed(d, rtp(6, 10800, true, {0x7c, 0x41, 0x03}), out);
  feed(d, rtp(7, 14400, true, kSlice), out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(d.packets_lost(), 1u);
  EXPECT_EQ(d.frames_dropped(), 2u);
  feed(d, rtp(8, 18000, true, kIdr), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[2].key);
  EXPECT_EQ(out[2].timestamp, 18000);
}

TEST(H264Depacketizer, EndsFramesWithoutMarkerAndUnwrapsTimestamps) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {});
  std::vector<CodecFrame> out;
  const uint32_t near_wrap = 0xFFFFF000u;
  feed(d, rtp(65534, near_wrap, false, kIdr), out);  // no marker: ends when the time changes
  feed(d, rtp(65535, near_wrap + 3600, false, kSlice), out);
  feed(d, rtp(0, near_wrap + 7200, true, kSlice), out);  // RTP time wrapped past 2^32
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].timestamp, int64_t{near_wrap});
  EXPECT_EQ(out[1].timestamp, int64_t{near_wrap} + 3600);
  EXPECT_EQ(out[2].timestamp, int64_t{near_wrap} + 7200);  // beyond 32 bits, not small
  EXPECT_EQ(d.packets_lost(), 0u);
}

TEST(H264Depacketizer, NoticesNewParameterSetsAfterTheFirstKeyframe) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH264, {kSps, kPps});
  std::vector<CodecFrame> out;
  // The first keyframe may bring parameter sets other than the SDP's: they replace them.
  const Bytes sps2 = {0x67, 0x64, 0x00, 0x28, 0xbb};
  feed(d, rtp(1, 0, false, sps2), out);
  feed(d, rtp(2, 0, true, kIdr), out);
  EXPECT_FALSE(d.parameters_changed());
  EXPECT_EQ(d.extradata(), annexb({sps2, kPps}));
  feed(d, rtp(3, 3600, false, sps2), out);  // repeated as is: fine
  feed(d, rtp(4, 3600, true, kIdr), out);
  EXPECT_FALSE(d.parameters_changed());
  feed(d, rtp(5, 7200, false, kSps), out);  // another SPS mid-stream: a new resolution
  EXPECT_TRUE(d.parameters_changed());
}

TEST(H265Depacketizer, AssemblesAggregatesAndFragments) {
  H26xDepacketizer d(H26xDepacketizer::Codec::kH265, {});
  std::vector<CodecFrame> out;
  const Bytes vps = {0x40, 0x01, 0x0c}, sps = {0x42, 0x01, 0x01}, pps = {0x44, 0x01, 0xc1};
  Bytes ap = {0x60, 0x01};  // type 48
  for (const Bytes* n : {&vps, &sps, &pps}) {
    ap.insert(ap.end(), {0, static_cast<uint8_t>(n->size())});
    ap.insert(ap.end(), n->begin(), n->end());
  }
  feed(d, rtp(10, 90000, false, ap), out);
  // IDR_W_RADL (type 19) in two fragments: FU header S/E bits and the type.
  feed(d, rtp(11, 90000, false, {0x62, 0x01, 0x80 | 19, 0xAA}), out);
  feed(d, rtp(12, 90000, true, {0x62, 0x01, 0x40 | 19, 0xBB}), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].key);
  EXPECT_EQ(out[0].data, annexb({vps, sps, pps, {19 << 1, 0x01, 0xAA, 0xBB}}));
  EXPECT_EQ(d.extradata(), annexb({vps, sps, pps}));
  feed(d, rtp(13, 93600, true, {0x02, 0x01, 0xCC}), out);  // TRAIL_R, single NAL
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[1].key);
}

TEST(AacDepacketizer, SplitsAccessUnitsAndJoinsFragments) {
  AacDepacketizer d(13, 3, 3);
  std::vector<CodecFrame> out;
  // Two AUs of 3 and 2 bytes: AU-headers-length 32 bits, each header size<<3 | index.
  feed(d, rtp(1, 1000, true, {0x00, 0x20, 0x00, 3 << 3, 0x00, 2 << 3, 1, 2, 3, 4, 5}, 97), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].timestamp, 1000);
  EXPECT_EQ(out[0].data, (Bytes{1, 2, 3}));
  EXPECT_EQ(out[1].timestamp, 1000 + 1024);
  EXPECT_EQ(out[1].data, (Bytes{4, 5}));
  // One AU of 4 bytes in two packets; each header gives the whole unit's size.
  feed(d, rtp(2, 3048, false, {0x00, 0x10, 0x00, 4 << 3, 9, 8}, 97), out);
  EXPECT_EQ(out.size(), 2u);
  feed(d, rtp(3, 3048, true, {0x00, 0x10, 0x00, 4 << 3, 7, 6}, 97), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].data, (Bytes{9, 8, 7, 6}));
  // A fragment whose continuation is lost is dropped, not passed on short.
  feed(d, rtp(4, 4072, false, {0x00, 0x10, 0x00, 4 << 3, 1, 1}, 97), out);
  feed(d, rtp(6, 6120, true, {0x00, 0x10, 0x00, 1 << 3, 5}, 97), out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].data, (Bytes{5}));
  EXPECT_EQ(d.frames_dropped(), 1u);
}

TEST(G711Depacketizer, EachPayloadIsAFrameAtItsTimestamp) {
  G711Depacketizer d;
  std::vector<CodecFrame> out;
  feed(d, rtp(1, 4000, true, {0xff, 0x7f, 0x00}, 0), out);
  feed(d, rtp(2, 4003, false, {0x55}, 0), out);
  feed(d, rtp(3, 4004, false, {}, 0), out);  // empty: nothing
  // A lost packet loses its own samples only; the next one keeps its own time.
  feed(d, rtp(5, 4010, false, {0xd5, 0xd5}, 0), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].timestamp, 4000);
  EXPECT_EQ(out[0].data, (Bytes{0xff, 0x7f, 0x00}));
  EXPECT_TRUE(out[0].key);
  EXPECT_EQ(out[1].timestamp, 4003);
  EXPECT_EQ(out[2].timestamp, 4010);
  EXPECT_EQ(out[2].data, (Bytes{0xd5, 0xd5}));
  EXPECT_EQ(d.packets_lost(), 1u);
  EXPECT_EQ(d.frames_dropped(), 0u);
}

}  // namespace
}  // namespace vigil
