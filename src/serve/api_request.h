// Reading a request's JSON body and query the same way on every API route: the same checks and
// the same error texts, so a client learns one set of rules.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "serve/router.h"

namespace vigil {

// A failure with an HTTP status that no ErrorCode names (415, 429) or with extra headers;
// Api::handle turns it into the JSON error response.
struct HttpFail {
  int status;
  std::string detail;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// The body as a JSON object; 415 unless it was sent as application/json.
nlohmann::json parse_body(const Call& call);
// kInvalidArgument naming the first field not in `allowed`.
void only_fields(const nlohmann::json& body, const std::set<std::string>& allowed);
std::optional<std::string> opt_string(const nlohmann::json& body, const char* key);
std::string need_string(const nlohmann::json& body, const char* key);

// A whole-number query parameter within [min, max], `def` when absent.
int64_t query_int(const Call& call, const char* key, int64_t min, int64_t max, int64_t def);
// kInvalidArgument naming the first query parameter not in `allowed`.
void only_query(const Call& call, const std::set<std::string>& allowed);

}  // namespace vigil
