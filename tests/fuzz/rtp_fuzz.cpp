// libFuzzer target: RTP packets from a camera through parse_rtp and a depacketizer, as the
// native RTSP client feeds them. Input layout: one byte picks the depacketizer (H.264, H.265,
// AAC with the next three bytes as sizelength, indexlength and indexdeltalength, the signed
// values an SDP fmtp can give, or G.711), then packets, each as a 16-bit big-endian length and
// that many bytes (the framing of RTSP interleaved data, RFC 2326 §10.12).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ingest/rtp_depacketizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (in.empty()) return 0;
  const uint8_t kind = in[0] % 4;
  in = in.subspan(1);
  std::unique_ptr<vigil::Depacketizer> d;
  if (kind == 0 || kind == 1) {
    d = std::make_unique<vigil::H26xDepacketizer>(
        kind == 0 ? vigil::H26xDepacketizer::Codec::kH264 : vigil::H26xDepacketizer::Codec::kH265,
        std::vector<std::vector<uint8_t>>{});
  } else if (kind == 3) {
    d = std::make_unique<vigil::G711Depacketizer>();
  } else {
    if (in.size() < 3) return 0;
    // The client only builds an AAC depacketizer for sizelength > 0 (storable_aac); the index
    // lengths come from the camera unchecked.
    const int size_length = in[0] == 0 ? 13 : in[0];
    d = std::make_unique<vigil::AacDepacketizer>(size_length, static_cast<int8_t>(in[1]),
                                                 static_cast<int8_t>(in[2]));
    in = in.subspan(3);
  }
  std::vector<vigil::CodecFrame> frames;
  while (in.size() >= 2) {
    const size_t len = std::min<size_t>((size_t{in[0]} << 8) | in[1], in.size() - 2);
    const std::span<const uint8_t> bytes = in.subspan(2, len);
    in = in.subspan(2 + len);
    const auto packet = vigil::parse_rtp(bytes);
    if (!packet) continue;
    if (packet->payload.data() < bytes.data() ||
        packet->payload.data() + packet->payload.size() > bytes.data() + bytes.size()) {
      __builtin_trap();  // the payload must lie inside the packet
    }
    d->push(*packet, frames);
    frames.clear();
  }
  return 0;
}
