// The parts of an SDP session description (RFC 4566) that an RTSP recorder needs: per media
// section its type, payload type, codec, clock rate and format parameters. Tolerant of what
// real cameras send (see tests/data/cameras/README.md): odd spacing, missing rtpmap for
// static payload types, fmtp for another payload type, non-numeric formats.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vigil {

struct SdpMedia {
  std::string type;      // "video", "audio", "application"
  int payload_type = -1;  // first format of the m= line; -1 if not numeric
  std::string encoding;  // upper case, e.g. "H264", "H265", "MPEG4-GENERIC", "PCMA"
  int clock_rate = 0;
  int channels = 1;
  std::map<std::string, std::string> fmtp;  // keys lower case
  std::string control;
};

struct SdpSession {
  std::string control;  // session-level a=control, empty if none
  std::vector<SdpMedia> media;
};

SdpSession parse_sdp(const std::string& text);

// FFmpeg's name for a media section's codec ("h264", "hevc", "aac", "pcm_alaw", "mjpeg"...), or
// the lower-cased encoding name when FFmpeg has none.
std::string sdp_codec_name(const SdpMedia& m);

}  // namespace vigil
