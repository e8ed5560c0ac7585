#include "serve/router.h"

#include <regex>

namespace vigil {
namespace {

const char* type_word(ParamType t) {
  switch (t) {
    case ParamType::kCamera:
      return "camera id";
    case ParamType::kUser:
      return "user name";
    case ParamType::kInt:
      return "number";
  }
  return "value";
}

}  // namespace

bool valid_param(ParamType type, const std::string& value) {
  static const std::regex camera_re("^[A-Za-z0-9_-]{1,64}$");
  static const std::regex int_re("^[0-9]{1,18}$");
  switch (type) {
    case ParamType::kCamera:
      return std::regex_match(value, camera_re);
    case ParamType::kUser:
      return valid_user_name(value);
    case ParamType::kInt:
      return std::regex_match(value, int_re);
  }
  return false;
}

std::string Route::openapi_path() const {
  std::string out;
  for (const auto& s : segments) {
    out += '/';
    out += s.param.empty() ? s.literal : "{" + s.param + "}";
  }
  return out;
}

void Router::add(Route r) {
  auto segs = http::split_path(r.pattern);
  if (!segs) throw Error(ErrorCode::kInternal, "route pattern " + r.pattern + ": malformed");
  for (const auto& s : *segs) {
    Route::Segment seg;
    if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
      const std::string inner = s.substr(1, s.size() - 2);
      const size_t colon = inner.find(':');
      if (colon == std::string::npos) {
        throw Error(ErrorCode::kInternal,
                    "route pattern " + r.pattern + ": parameter needs a type");
      }
      seg.param = inner.substr(0, colon);
      const std::string type = inner.substr(colon + 1);
      if (type == "camera") {
        seg.type = ParamType::kCamera;
      } else if (type == "user") {
        seg.type = ParamType::kUser;
      } else if (type == "int") {
        seg.type = ParamType::kInt;
      } else {
        throw Error(ErrorCode::kInternal, "route pattern " + r.pattern + ": unknown type " + type);
      }
    } else {
      seg.literal = s;
    }
    r.segments.push_back(std::move(seg));
  }
  if (!r.access.camera_param.empty()) {
    bool found = false;
    for (const auto& s : r.segments) found |= s.param == r.access.camera_param;
    if (!found) {
      throw Error(ErrorCode::kInternal,
                  "route " + r.pattern + ": no parameter " + r.access.camera_param);
    }
  }
  // Two routes with the same shape would shadow each other whatever their parameter names.
  auto shape = [](const Route& x) {
    std::string s;
    for (const auto& seg : x.segments) s += "/" + (seg.param.empty() ? seg.literal : "{}");
    return s;
  };
  for (const auto& o : routes_) {
    if (o.method == r.method && shape(o) == shape(r)) {
      throw Error(ErrorCode::kInternal, "route " + r.method + " " + r.pattern + " added twice");
    }
  }
  routes_.push_back(std::move(r));
}

Match Router::match(const std::string& method, std::string_view path) const {
  Match m;
  auto segs = http::split_path(path);
  if (!segs) {
    m.kind = Match::Kind::kBadRequest;
    m.detail =
        "malformed path: encoded '/', '\\', control characters and '.'/'..' segments are "
        "not allowed";
    return m;
  }
  for (const auto& r : routes_) {
    if (r.segments.size() != segs->size()) continue;
    bool fits = true;
    std::map<std::string, std::string> params;
    for (size_t i = 0; i < segs->size() && fits; ++i) {
      const auto& s = r.segments[i];
      if (s.param.empty()) {
        fits = s.literal == (*segs)[i];
      } else {
        params[s.param] = (*segs)[i];
      }
    }
    if (!fits) continue;
    if (r.method != method) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r.method;
      continue;
    }
    for (const auto& s : r.segments) {
      if (!s.param.empty() && !valid_param(s.type, params[s.param])) {
        m.kind = Match::Kind::kBadRequest;
        m.detail =
            std::string("path parameter ") + s.param + " is not a valid " + type_word(s.type);
        return m;
      }
    }
    m.kind = Match::Kind::kFound;
    m.route = &r;
    m.params = std::move(params);
    return m;
  }
  if (!m.allow.empty()) m.kind = Match::Kind::kMethodNotAllowed;
  return m;
}

}  // namespace vigil
