// libFuzzer target: what a camera sends on its RTSP connection. The bytes are read as the
// client reads its receive buffer (parse_rtsp_item item after item), and every answer goes
// through the header helpers the client applies to it: CSeq, Session, Transport, RTP-Info,
// WWW-Authenticate (and the Authorization answer built from it), Content-Base and control URLs.
// vigil::Error from parse_rtsp_item and parse_rtsp_url is the documented rejection of bytes
// that are not RTSP; anything else escaping, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"
#include "ingest/rtsp_auth.h"
#include "ingest/rtsp_message.h"
#include "ingest/rtsp_url.h"

namespace {

void use_headers(const vigil::RtspMessage& msg) {
  (void)msg.cseq();
  if (const std::string* s = msg.header("Session")) (void)vigil::parse_session_header(*s);
  if (const std::string* t = msg.header("Transport")) (void)vigil::transport_interleaved(*t);
  if (const std::string* r = msg.header("RTP-Info")) (void)vigil::parse_rtp_info(*r);
  if (const auto c = vigil::choose_challenge(msg.headers_named("WWW-Authenticate"))) {
    (void)vigil::authorization_header(*c, "admin", "pa#ss", "DESCRIBE", "rtsp://cam/stream", 1,
                                      "0a4f113b");
  }
  if (const std::string* base = msg.header("Content-Base")) {
    try {
      const vigil::RtspUrl url = vigil::parse_rtsp_url(*base);
      (void)vigil::resolve_control_url(url.request_url, msg.body.substr(0, 64));
    } catch (const vigil::Error&) {
      // A base that is not an rtsp:// URL: the client keeps its own URL.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> rest(data, size);
  try {
    while (!rest.empty()) {
      size_t consumed = 0;
      vigil::RtspMessage msg;
      vigil::InterleavedFrame frame;
      const vigil::ParseResult r = vigil::parse_rtsp_item(rest, consumed, msg, frame);
      if (r == vigil::ParseResult::kIncomplete) break;
      if (consumed == 0 || consumed > rest.size()) __builtin_trap();  // would loop or overrun
      if (r == vigil::ParseResult::kMessage) use_headers(msg);
      rest = rest.subspan(consumed);
    }
  } catch (const vigil::Error&) {
    // Not RTSP: the client drops the connection with this error.
  }
  return 0;
}
