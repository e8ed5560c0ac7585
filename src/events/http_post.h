// One HTTP(S) POST with a deadline for the whole exchange (connect, TLS, send, answer), for
// webhooks, ONVIF's SOAP calls (a Content-Type in `headers` replaces the JSON default) and
// RFC 3161 timestamp requests. Boost.Beast on a private io_context, so nothing here is shared
// between calls.
// HTTPS verifies the server's certificate against the system's trust store (or, when `ca_file`
// is given, that PEM file alone: a private CA) and its host name.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

struct HttpPostResult {
  int status = 0;     // 0 when no answer came (refused, timeout, TLS failure)
  std::string error;  // why, when status == 0
  std::string body;   // the answer's body (ONVIF's SOAP answers, RFC 3161 TimeStampResp, ...)
};

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" at least
};
// nullopt-like: ok=false when the URL is not http(s)://host[:port][/path].
bool parse_http_url(const std::string& url, ParsedUrl& out);

HttpPostResult http_post(const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, std::chrono::milliseconds timeout,
                         const std::filesystem::path& ca_file = {});

}  // namespace vigil
