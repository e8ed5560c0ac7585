// RTSP/1.0 messages and interleaved RTP frames as they arrive on one TCP connection
// (RFC 2326 §10.12): the parser only looks at bytes already received and never copies media.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

struct RtspMessage {
  bool is_response = true;
  int status = 0;          // responses
  std::string reason;      // responses
  std::string method;      // requests the server sends us (rare; answered by ignoring)
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;

  // Header lookup ignores case: cameras send "Cseq", "CSeq" and "CSEQ".
  const std::string* header(std::string_view name) const;
  std::vector<std::string> headers_named(std::string_view name) const;
  std::optional<int> cseq() const;
};

struct InterleavedFrame {
  uint8_t channel = 0;
  std::span<const uint8_t> payload;  // points into the receive buffer
};

enum class ParseResult { kIncomplete, kMessage, kFrame };

// Parses the item at the start of `data`. On kMessage/kFrame sets `consumed` and the output;
// on kIncomplete more bytes are needed. Throws Error(kInvalidArgument) for bytes that are
// neither RTSP nor an interleaved frame (e.g. a port that answers with something else).
ParseResult parse_rtsp_item(std::span<const uint8_t> data, size_t& consumed, RtspMessage& msg,
                            InterleavedFrame& frame);

// "Session: 9a90de54; timeout=120" -> id and timeout (seconds) if given.
struct SessionHeader {
  std::string id;
  std::optional<int> timeout_s;
};
SessionHeader parse_session_header(const std::string& value);

// The "interleaved=a-b" channels of a Transport header, if present.
std::optional<std::pair<int, int>> transport_interleaved(const std::string& transport);

// One track of a PLAY answer's RTP-Info ("url=...;seq=1;rtptime=123, url=..."): the RTP time
// each track had at the same instant, which puts audio and video on one time line.
struct RtpInfoEntry {
  std::string url;
  std::optional<uint32_t> rtptime;  // absent, or not a valid 32-bit number (e.g. "-1")
};
std::vector<RtpInfoEntry> parse_rtp_info(const std::string& value);

std::string trim(std::string_view s);
bool equals_nocase(std::string_view a, std::string_view b);

}  // namespace vigil
