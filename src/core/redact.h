// Camera URLs carry passwords (rtsp://user:pass@host/...). Anything that logs or reports a URL
// goes through redact_url first, so a password never reaches a log, a status file or an API.
#pragma once

#include <string>
#include <vector>

namespace vigil {

// "rtsp://admin:secret@10.0.0.5/stream" -> "rtsp://admin:***@10.0.0.5/stream".
std::string redact_url(const std::string& url);
// Replace every occurrence of a URL's password inside a free-form text (e.g. an FFmpeg message).
std::string redact_in_text(const std::string& text, const std::string& url);

// The inverse for clients that send back what they were given: a URL whose password is "***"
// gets the password of the first `known` URL with the same scheme and user name (a camera's
// stored URLs), also when host or path changed. Any other URL is returned as it is.
std::string unmask_url(const std::string& url, const std::vector<std::string>& known);
// True when the URL's password is the mask "***" (unmask_url found no stored password for it).
bool has_masked_password(const std::string& url);

// Masks the password of every scheme://user:password@ URL inside a text (e.g. a library's log
// line that echoes a URL we did not choose).
std::string redact_all_urls(const std::string& text);

}  // namespace vigil
