#include "ingest/sdp.h"

#include <cctype>
#include <charconv>
#include <sstream>

#include "core/text.h"
#include "ingest/rtsp_message.h"

namespace vigil {
namespace {

int to_int_or(std::string_view s, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p != s.data() ? v : fallback;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// RFC 3551 static payload types, for cameras that send no rtpmap for them.
void apply_static_payload(SdpMedia& m) {
  switch (m.payload_type) {
    case 0: m.encoding = "PCMU"; m.clock_rate = 8000; break;
    case 8: m.encoding = "PCMA"; m.clock_rate = 8000; break;
    case 14: m.encoding = "MPA"; m.clock_rate = 90000; break;
    case 26: m.encoding = "JPEG"; m.clock_rate = 90000; break;
    case 32: m.encoding = "MPV"; m.clock_rate = 90000; break;
    case 33: m.encoding = "MP2T"; m.clock_rate = 90000; break;
    default: break;
  }
}

}  // namespace

SdpSession parse_sdp(const std::string& text) {
  SdpSession s;
  std::istringstream in(text);
  std::string line;
  SdpMedia* cur = nullptr;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.size() < 2 || line[1] != '=') continue;
    const char kind = line[0];
    const std::string value = line.substr(2);
    if (kind == 'm') {
      std::istringstream f(value);
      SdpMedia m;
      std::string port, proto, fmt;
      f >> m.type >> port >> proto >> fmt;
      m.payload_type = to_int_or(fmt, -1);
      apply_static_payload(m);
      s.media.push_back(m);
      cur = &s.media.back();
      continue;
    }
    if (kind != 'a') continue;
    const size_t colon = value.find(':');
    const std::string attr = value.substr(0, colon);
    const std::string arg = colon == std::string::npos ? "" : trim(value.substr(colon + 1));
    if (attr == "control") {
      (cur ? cur->control : s.control) = arg;
    } else if (cur && attr == "rtpmap") {
      // "96 H264/90000" or "97 MPEG4-GENERIC/48000/2"; the payload type must be ours.
      const size_t sp = arg.find_first_of(" \t");
      if (sp == std::string::npos || to_int_or(arg.substr(0, sp), -2) != cur->payload_type) {
        continue;
      }
      const std::string enc = trim(arg.substr(sp + 1));
      const size_t s1 = enc.find('/');
      cur->encoding = upper(enc.substr(0, s1));
      if (s1 != std::string::npos) {
        const size_t s2 = enc.find('/', s1 + 1);
        cur->clock_rate = to_int_or(enc.substr(s1 + 1, s2 == std::string::npos ? s2 : s2 - s1 - 1), 0);
        if (s2 != std::string::npos) cur->channels = to_int_or(enc.substr(s2 + 1), 1);
      }
    } else if (cur && attr == "fmtp") {
      // Some cameras put the fmtp under another payload type number than the m= line's
      // (retina PR #110); with one format per m= line, the parameters can only be its own.
      const size_t sp = arg.find_first_of(" \t");
      if (sp == std::string::npos) continue;
      std::istringstream params(arg.substr(sp + 1));
      std::string kv;
      while (std::getline(params, kv, ';')) {
        kv = trim(kv);
        const size_t eq = kv.find('=');
        if (eq == std::string::npos) continue;
        cur->fmtp[lower(trim(kv.substr(0, eq)))] = trim(kv.substr(eq + 1));
      }
    }
  }
  return s;
}

std::string sdp_codec_name(const SdpMedia& m) {
  const std::string& e = m.encoding;
  if (e == "H264") return "h264";
  if (e == "H265") return "hevc";
  if (e == "MPEG4-GENERIC") return "aac";
  if (e == "MP4A-LATM") return "aac_latm";
  if (e == "PCMU") return "pcm_mulaw";
  if (e == "PCMA") return "pcm_alaw";
  if (e == "JPEG") return "mjpeg";
  if (e == "MP4V-ES") return "mpeg4";
  if (e == "MPV") return "mpeg2video";
  if (e == "MPA") return "mp3";
  if (e == "MP2T") return "mpegts";
  if (e.empty()) return "unknown";
  return clean_text(lower(e), 64);  // the camera's own word: it reaches status and logs
}

}  // namespace vigil
