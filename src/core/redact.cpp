#include "core/redact.h"

#include <regex>

namespace vigil {
namespace {

struct Userinfo {
  size_t pass_begin = std::string::npos;
  size_t pass_end = std::string::npos;
};

// Finds the password inside scheme://user:pass@host; npos when there is none.
Userinfo find_password(const std::string& url) {
  Userinfo u;
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return u;
  const size_t authority = scheme + 3;
  const size_t path = url.find_first_of("/?#", authority);
  const size_t at = url.rfind('@', path == std::string::npos ? url.size() : path);
  if (at == std::string::npos || at < authority) return u;
  const size_t colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) return u;
  u.pass_begin = colon + 1;
  u.pass_end = at;
  return u;
}

}  // namespace

std::string redact_url(const std::string& url) {
  const Userinfo u = find_password(url);
  if (u.pass_begin == std::string::npos) return url;
  return url.substr(0, u.pass_begin) + "***" + url.substr(u.pass_end);
}

std::string redact_in_text(const std::string& text, const std::string& url) {
  const Userinfo u = find_password(url);
  if (u.pass_begin == std::string::npos || u.pass_end == u.pass_begin) return text;
  const std::string password = url.substr(u.pass_begin, u.pass_end - u.pass_begin);
  std::string out = text;
  for (size_t pos = out.find(password); pos != std::string::npos;
       pos = out.find(password, pos + 3)) {
    out.replace(pos, password.size(), "***");
  }
  return out;
}

bool has_masked_password(const std::string& url) {
  const Userinfo u = find_password(url);
  return u.pass_begin != std::string::npos &&
         url.compare(u.pass_begin, u.pass_end - u.pass_begin, "***") == 0;
}

std::string unmask_url(const std::string& url, const std::vector<std::string>& known) {
  if (!has_masked_password(url)) return url;
  const Userinfo u = find_password(url);
  const std::string user_part = url.substr(0, u.pass_begin);  // "rtsp://user:"
  for (const std::string& k : known) {
    const Userinfo ku = find_password(k);
    if (ku.pass_begin == std::string::npos || k.compare(0, ku.pass_begin, user_part) != 0) {
      continue;
    }
    return user_part + k.substr(ku.pass_begin, ku.pass_end - ku.pass_begin) +
           url.substr(u.pass_end);
  }
  return url;
}

std::string redact_all_urls(const std::string& text) {
  static const std::regex re(R"((://[^:/@\s]+:)[^@\s/]+@)");
  return std::regex_replace(text, re, "$1***@");
}

}  // namespace vigil
