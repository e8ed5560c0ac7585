// Camera URLs carry passwords (rtsp://user:pass@host/...). Anything that logs or reports a URL
// goes through redact_url first, so a password never reaches a log, a status file or an API.
//
// Where the user info ends is defined once, here (split_authority), and used both by redaction
// and by the RTSP client that authenticates with it (ingest/rtsp_url): when the two disagreed,
// a password with '#' was used to log in but never masked.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// The parts of scheme://user:password@host:port/path as offsets into the URL.
//
// RFC 3986 wants '@', ':', '/', '?' and '#' in a password percent-encoded, but people paste
// passwords as they are, so vigil is more lenient than the RFC (and than FFmpeg, which ends the
// host at '?' or '#'): the user info ends at the LAST '@' before the first '/' after "://", so
// that '@', ':', '?' and '#' may appear raw in a password (the first ':' separates user and
// password). A raw '/' in a password ends that search early; it is still recognised when what
// comes before the '/' cannot be a host:port ("admin:a/b@host/": "admin:a" has no numeric port),
// and then the user info ends at the last '@' before the next '/' after the first '@' — but
// "admin:123/4@host" reads as host "admin", port 123: write '/' as %2F.
struct UrlAuthority {
  size_t begin = 0;                           // just after "://"
  size_t userinfo_end = std::string::npos;    // the '@' that ends the user info, npos if none
  size_t password_begin = std::string::npos;  // after the user's ':', npos if no password
  size_t host_begin = 0;                      // after that '@', or `begin`
  size_t host_end = 0;                        // the first '/', '?' or '#' after the host
};
// nullopt when the text has no "scheme://".
std::optional<UrlAuthority> split_authority(std::string_view url);

// Percent-decoding (RFC 3986 §2.1) of user names and passwords; invalid escapes stay as typed.
std::string percent_decode(std::string_view s);
// The URL with its user name and password percent-encoded (all but RFC 3986's unreserved
// characters), read as split_authority reads them: the form FFmpeg needs, since it ends the
// host at a raw '?' or '#' and percent-decodes credentials itself. Other URLs are unchanged.
std::string with_encoded_userinfo(const std::string& url);

// "rtsp://admin:secret@10.0.0.5/stream" -> "rtsp://admin:***@10.0.0.5/stream".
std::string redact_url(const std::string& url);
// Replace every occurrence of a URL's password inside a free-form text (e.g. an FFmpeg message),
// as written in the URL and percent-decoded.
std::string redact_in_text(const std::string& text, const std::string& url);

// The inverse for clients that send back what they were given: a URL whose password is "***"
// gets the password of the first `known` URL with the same scheme, user name, host and port (a
// camera's stored URLs); the path may change. A masked URL for another host or port keeps its
// mask (the caller asks for the password again). Any other URL is returned as it is.
std::string unmask_url(const std::string& url, const std::vector<std::string>& known);
// True when the URL's password is the mask "***" (unmask_url found no stored password for it).
bool has_masked_password(const std::string& url);

// Masks the password of every scheme://user:password@ URL inside a text (e.g. a library's log
// line that echoes a URL we did not choose). A URL there ends at white space.
std::string redact_all_urls(const std::string& text);

}  // namespace vigil
