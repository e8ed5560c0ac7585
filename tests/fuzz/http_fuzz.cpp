// libFuzzer target: what an HTTP client controls, through serve's parsing helpers: the request
// target (path(), query(), split_path, parse_query), a Cookie header (parse_cookies) and a JSON
// body read as every API route reads it (parse_body -> parse_json_body, then fields). The
// helpers return nullopt on bad input; parse_body's vigil::Error and HttpFail are its documented
// 400/415 answers. Any other exception, a crash or a sanitizer report is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/error.h"
#include "serve/api_request.h"
#include "serve/http.h"

namespace {

int depth(const nlohmann::json& j) {
  int d = 0;
  if (j.is_structured()) {
    for (const auto& child : j) d = std::max(d, depth(child));
    ++d;
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  vigil::http::Request req;
  req.method = "POST";
  req.target = input;
  if (const auto segments = vigil::http::split_path(req.path())) {
    for (const std::string& s : *segments) {
      // What split_path promises the router: no separators, no dot segments, no controls.
      if (s == "." || s == ".." || s.find_first_of("/\\") != std::string::npos) __builtin_trap();
      for (const char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) __builtin_trap();
      }
    }
  }
  const auto query = vigil::http::parse_query(req.query());
  (void)vigil::http::parse_cookies(input);

  req.headers["content-type"] = "application/json";
  req.body = input;
  vigil::Call call{req, {}, query ? *query : std::map<std::string, std::string>{}, nullptr};
  try {
    const nlohmann::json body = vigil::parse_body(call);
    if (depth(body) > 32) __builtin_trap();  // parse_json_body's depth limit
    (void)vigil::opt_string(body, "name");
    vigil::only_fields(body, {"name", "role"});
  } catch (const vigil::Error&) {
    // 400: malformed, too deep, not an object, a field of the wrong type or unknown.
  } catch (const vigil::HttpFail&) {
    // 415: not sent as JSON (not reached here; kept for the API's full contract).
  }
  try {
    (void)vigil::query_int(call, "limit", 1, 1000, 100);
  } catch (const vigil::Error&) {
    // 400: not a number in range.
  }
  return 0;
}
