#include "serve/api_request.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "serve/http.h"

namespace vigil {

using nlohmann::json;

json parse_body(const Call& call) {
  const std::string type = call.request.header("content-type");
  if (type.rfind("application/json", 0) != 0) {
    // Also a CSRF defence in depth: an HTML form cannot send application/json.
    throw HttpFail{415, "send the body as application/json"};
  }
  json j = http::parse_json_body(call.request.body);
  if (!j.is_object()) throw Error(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

void only_fields(const json& body, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : body.items()) {
    if (!allowed.count(k)) throw Error(ErrorCode::kInvalidArgument, "unknown field \"" + k + "\"");
  }
}

std::optional<std::string> opt_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  if (!it->is_string()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("field \"") + key + "\" must be a string");
  }
  return it->get<std::string>();
}

std::string need_string(const json& body, const char* key) {
  auto v = opt_string(body, key);
  if (!v) throw Error(ErrorCode::kInvalidArgument, std::string("field \"") + key + "\" is missing");
  return *v;
}

int64_t query_int(const Call& call, const char* key, int64_t min, int64_t max, int64_t def) {
  auto it = call.query.find(key);
  if (it == call.query.end()) return def;
  const std::string& s = it->second;
  if (s.empty() || s.size() > 18 ||
      !std::all_of(s.begin() + (s[0] == '-' ? 1 : 0), s.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      s == "-") {
    throw Error(ErrorCode::kInvalidArgument, std::string("query ") + key + " must be a number");
  }
  const int64_t v = std::stoll(s);
  if (v < min || v > max) {
    throw Error(ErrorCode::kInvalidArgument, std::string("query ") + key + " must be between " +
                                                 std::to_string(min) + " and " +
                                                 std::to_string(max));
  }
  return v;
}

void only_query(const Call& call, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : call.query) {
    if (!allowed.count(k)) throw Error(ErrorCode::kInvalidArgument, "unknown query parameter " + k);
  }
}

}  // namespace vigil
