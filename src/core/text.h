// Text that came from the network (a camera's RTSP reason phrase or SDP, an FFmpeg or TLS log
// line, anything another machine chose) made safe to show: valid UTF-8, no control characters,
// bounded length. It is cleaned where it enters vigil, before it reaches a log line, the status
// file, the catalog, JSON or the web UI: a camera answering in Latin-1 once made nlohmann's
// strict UTF-8 check throw out of the status writer and stop every camera, and a reason phrase
// with CR/LF or ANSI escapes could forge log lines or repaint a terminal.
//
// Also the one way vigil turns JSON into text (to_json_text), with invalid UTF-8 replaced
// instead of thrown: the second line of defence for any text that was not cleaned.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace vigil {

// Longest cleaned text kept by default, in bytes of UTF-8 (a reason phrase, a log line).
inline constexpr size_t kMaxCleanTextBytes = 512;

// `raw` as valid UTF-8 without control characters:
// - valid UTF-8 sequences are kept as they are;
// - every other byte is read as Latin-1 (ISO 8859-1), so the French, German or Spanish
//   firmware of many cameras reads right ("Indisponible \xe9t\xe9" -> "Indisponible été"),
//   except 0x80-0x9F, which are control codes in Latin-1 and become U+FFFD;
// - line breaks and tabs (CR, LF, TAB, NEL, U+2028/9) become one space, so that one message stays
//   one log line; other C0/C1 controls (ESC of ANSI sequences, NUL, DEL) and the Unicode bidi
//   overrides that can make text read backwards in the UI are removed, and so is white space at
//   either end;
// - text longer than `max_bytes` is cut at a character boundary and ends with "…".
std::string clean_text(std::string_view raw, size_t max_bytes = kMaxCleanTextBytes);

// `j` as JSON text; invalid UTF-8 in its strings becomes U+FFFD instead of an exception.
// `indent` as nlohmann's dump(): -1 for one line.
std::string to_json_text(const nlohmann::json& j, int indent = -1);

// RFC 3986 percent-encoding: every byte but the unreserved A-Z a-z 0-9 - . _ ~ (and the bytes of
// `keep`, e.g. "/" for a path) becomes %XX with upper-case hex digits, as URI user info, otpauth
// labels and AWS SigV4's canonical URIs want it.
std::string percent_encode(std::string_view s, std::string_view keep = {});

}  // namespace vigil
