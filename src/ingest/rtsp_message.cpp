#include "ingest/rtsp_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "core/error.h"
#include "core/text.h"

namespace vigil {
namespace {

// A header block larger than this is not a camera talking RTSP.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 1 << 20;

std::optional<int> to_int(std::string_view s) {
  s = std::string_view(trim(s));
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  return v;
}

Error not_rtsp(const std::string& why) {
  return Error(ErrorCode::kInvalidArgument,
               "the camera's answer is not valid RTSP/RTP (" + why + ")");
}

}  // namespace

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* RtspMessage::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equals_nocase(k, name)) return &v;
  }
  return nullptr;
}

std::vector<std::string> RtspMessage::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (equals_nocase(k, name)) out.push_back(v);
  }
  return out;
}

std::optional<int> RtspMessage::cseq() const {
  const std::string* v = header("CSeq");
  return v ? to_int(*v) : std::nullopt;
}

ParseResult parse_rtsp_item(std::span<const uint8_t> data, size_t& consumed, RtspMessage& msg,
                            InterleavedFrame& frame) {
  if (data.empty()) return ParseResult::kIncomplete;
  if (data[0] == '$') {
    if (data.size() < 4) return ParseResult::kIncomplete;
    const size_t len = (size_t{data[2]} << 8) | data[3];
    if (data.size() < 4 + len) return ParseResult::kIncomplete;
    frame.channel = data[1];
    frame.payload = data.subspan(4, len);
    consumed = 4 + len;
    return ParseResult::kFrame;
  }
  // A message: status line or request line, headers, empty line, body of Content-Length.
  const char* text = reinterpret_cast<const char*>(data.data());
  const std::string_view view(text, data.size());
  // Check the start early so that garbage is refused after a few bytes, not after 64 KiB.
  const std::string_view start = view.substr(0, std::min<size_t>(view.size(), 5));
  const bool looks_response = std::string_view("RTSP/").starts_with(start);
  const bool looks_request = std::isupper(static_cast<unsigned char>(view[0])) &&
                             std::all_of(start.begin(), start.end(), [](char c) {
                               return std::isupper(static_cast<unsigned char>(c)) || c == '_' ||
                                      c == ' ';
                             });
  if (!looks_response && !looks_request) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", data[0]);
    throw not_rtsp(std::string("unexpected byte ") + hex);
  }
  size_t header_end = view.find("\r\n\r\n");
  size_t sep = 4;
  const size_t lf_end = view.find("\n\n");
  if (lf_end != std::string_view::npos && (header_end == std::string_view::npos || lf_end < header_end)) {
    header_end = lf_end;
    sep = 2;
  }
  if (header_end == std::string_view::npos) {
    if (view.size() > kMaxHeaderBytes) throw not_rtsp("header block too long");
    return ParseResult::kIncomplete;
  }
  msg = RtspMessage{};
  size_t pos = 0;
  bool first = true;
  while (pos < header_end) {
    size_t eol = view.find('\n', pos);
    if (eol == std::string_view::npos || eol > header_end) eol = header_end;
    std::string_view line = view.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (first) {
      first = false;
      if (looks_response) {
        // "RTSP/1.0 200 OK"
        const size_t sp1 = line.find(' ');
        if (sp1 == std::string_view::npos) throw not_rtsp("bad status line");
        const size_t sp2 = line.find(' ', sp1 + 1);
        const auto code = to_int(line.substr(sp1 + 1, sp2 == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : sp2 - sp1 - 1));
        if (!code) throw not_rtsp("bad status line");
        msg.is_response = true;
        msg.status = *code;
        // Free text chosen by the camera (Latin-1 firmware, stray controls): cleaned here.
        msg.reason = sp2 == std::string_view::npos ? "" : clean_text(line.substr(sp2 + 1));
      } else {
        msg.is_response = false;
        msg.method = std::string(line.substr(0, line.find(' ')));
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // tolerate junk lines, as cameras need
    msg.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  size_t body_len = 0;
  if (const std::string* cl = msg.header("Content-Length")) {
    const auto n = to_int(*cl);
    if (!n || *n < 0 || static_cast<size_t>(*n) > kMaxBodyBytes) throw not_rtsp("bad Content-Length");
    body_len = static_cast<size_t>(*n);
  }
  const size_t body_start = header_end + sep;
  if (data.size() < body_start + body_len) return ParseResult::kIncomplete;
  msg.body.assign(text + body_start, body_len);
  consumed = body_start + body_len;
  return ParseResult::kMessage;
}

SessionHeader parse_session_header(const std::string& value) {
  SessionHeader out;
  const size_t semi = value.find(';');
  out.id = trim(std::string_view(value).substr(0, semi));
  const size_t t = semi == std::string::npos ? semi : value.find("timeout=", semi);
  if (t != std::string::npos) {
    const size_t end = value.find(';', t);
    out.timeout_s = to_int(value.substr(t + 8, end == std::string::npos ? end : end - t - 8));
  }
  return out;
}

std::optional<std::pair<int, int>> transport_interleaved(const std::string& transport) {
  const size_t p = transport.find("interleaved=");
  if (p == std::string::npos) return std::nullopt;
  const size_t start = p + 12;
  const size_t end = transport.find(';', start);
  const std::string range = transport.substr(start, end == std::string::npos ? std::string::npos
                                                                               : end - start);
  const size_t dash = range.find('-');
  const auto a = to_int(std::string_view(range).substr(0, dash));
  if (!a) return std::nullopt;
  if (dash == std::string::npos) return std::make_pair(*a, *a + 1);
  const auto b = to_int(std::string_view(range).substr(dash + 1));
  return std::make_pair(*a, b ? *b : *a + 1);
}

std::vector<RtpInfoEntry> parse_rtp_info(const std::string& value) {
  std::vector<RtpInfoEntry> out;
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t comma = value.find(',', pos);
    const std::string_view entry =
        std::string_view(value).substr(pos, comma == std::string::npos ? comma : comma - pos);
    pos = comma == std::string::npos ? value.size() : comma + 1;
    RtpInfoEntry e;
    size_t p = 0;
    while (p < entry.size()) {
      const size_t semi = entry.find(';', p);
      const std::string kv = trim(entry.substr(p, semi == std::string::npos ? semi : semi - p));
      p = semi == std::string::npos ? entry.size() : semi + 1;
      if (kv.rfind("url=", 0) == 0) e.url = kv.substr(4);
      if (kv.rfind("rtptime=", 0) == 0) {
        uint32_t v = 0;
        const char* b = kv.data() + 8;
        const char* end = kv.data() + kv.size();
        auto [ptr, ec] = std::from_chars(b, end, v);
        if (ec == std::errc() && ptr == end && ptr != b) e.rtptime = v;
      }
    }
    if (!trim(entry).empty()) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace vigil
