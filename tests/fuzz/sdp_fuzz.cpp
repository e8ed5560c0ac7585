// libFuzzer target: a DESCRIBE answer's body (SDP) as the native RTSP client reads it:
// parse_sdp, the codec name of every media section, and the base64 parameter sets of the
// sprop-* format parameters (decode_sprop). None of these may throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/rtp_depacketizer.h"
#include "ingest/sdp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const vigil::SdpSession s = vigil::parse_sdp(text);
  for (const vigil::SdpMedia& m : s.media) {
    (void)vigil::sdp_codec_name(m);
    for (const char* key : {"sprop-parameter-sets", "sprop-vps", "sprop-sps", "sprop-pps"}) {
      const auto it = m.fmtp.find(key);
      if (it == m.fmtp.end()) continue;
      for (const auto& nal : vigil::decode_sprop(it->second)) {
        if (nal.empty()) __builtin_trap();  // decode_sprop promises no empty NAL units
      }
    }
  }
  return 0;
}
