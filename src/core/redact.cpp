#include "core/redact.h"

#include <algorithm>
#include <cctype>

namespace vigil {
namespace {

constexpr std::string_view kMask = "***";

bool is_port(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The password's [begin, end) in `url`; begin npos when there is none.
std::pair<size_t, size_t> find_password(std::string_view url) {
  const auto a = split_authority(url);
  if (!a || a->password_begin == std::string::npos) return {std::string::npos, 0};
  return {a->password_begin, a->userinfo_end};
}

}  // namespace

std::optional<UrlAuthority> split_authority(std::string_view url) {
  UrlAuthority a;
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  a.begin = scheme + 3;
  a.host_begin = a.host_end = a.begin;
  if (a.begin == url.size()) return a;
  const size_t slash = std::min(url.find('/', a.begin), url.size());
  size_t at = url.rfind('@', slash);
  if (at != std::string_view::npos && at < a.begin) at = std::string_view::npos;
  if (at == std::string_view::npos && slash < url.size() && url[a.begin] != '[') {
    // No '@' before the first '/': a raw '/' inside a password, if what precedes it is no
    // host:port ("admin:a" in "admin:a/b@host/x").
    const std::string_view before = url.substr(a.begin, slash - a.begin);
    const size_t colon = before.find(':');
    const size_t first_at = url.find('@', slash);
    if (colon != std::string_view::npos && !is_port(before.substr(colon + 1)) &&
        first_at != std::string_view::npos) {
      at = url.rfind('@', std::min(url.find('/', first_at), url.size()));
    }
  }
  if (at != std::string_view::npos) {
    a.userinfo_end = at;
    a.host_begin = at + 1;
    const size_t colon = url.find(':', a.begin);
    if (colon < at) a.password_begin = colon + 1;
  }
  a.host_end = std::min(url.find_first_of("/?#", a.host_begin), url.size());
  return a;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string with_encoded_userinfo(const std::string& url) {
  const auto parts = split_authority(url);
  if (!parts || parts->userinfo_end == std::string::npos) return url;
  const UrlAuthority& a = *parts;
  auto encode = [](std::string_view raw) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : percent_decode(raw)) {
      const auto c = static_cast<unsigned char>(ch);
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out += ch;
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
    return out;
  };
  const std::string_view v(url);
  const size_t user_end = a.password_begin == std::string::npos ? a.userinfo_end
                                                                 : a.password_begin - 1;
  std::string out = url.substr(0, a.begin) + encode(v.substr(a.begin, user_end - a.begin));
  if (a.password_begin != std::string::npos) {
    // Appended in two steps: `":" + std::string&&` inserts at the front, which GCC 12 at -O3
    // misreads as an overlapping memcpy (-Wrestrict, GCC bug 105651).
    out += ':';
    out += encode(v.substr(a.password_begin, a.userinfo_end - a.password_begin));
  }
  return out + url.substr(a.userinfo_end);
}

std::string redact_url(const std::string& url) {
  const auto [begin, end] = find_password(url);
  if (begin == std::string::npos) return url;
  return url.substr(0, begin) + std::string(kMask) + url.substr(end);
}

std::string redact_in_text(const std::string& text, const std::string& url) {
  const auto [begin, end] = find_password(url);
  if (begin == std::string::npos || end == begin) return text;
  const std::string written = url.substr(begin, end - begin);
  std::string out = text;
  for (const std::string& password : {written, percent_decode(written)}) {
    for (size_t pos = out.find(password); pos != std::string::npos;
         pos = out.find(password, pos + kMask.size())) {
      out.replace(pos, password.size(), kMask);
    }
  }
  return out;
}

bool has_masked_password(const std::string& url) {
  const auto [begin, end] = find_password(url);
  return begin != std::string::npos && url.compare(begin, end - begin, kMask) == 0;
}

std::string unmask_url(const std::string& url, const std::vector<std::string>& known) {
  if (!has_masked_password(url)) return url;
  const auto a = split_authority(url);
  const std::string user_part = url.substr(0, a->password_begin);  // "rtsp://user:"
  // The stored password goes only where it went before: same scheme, user, host and port. A
  // masked URL pointing elsewhere could be a server that asks for Basic and keeps the password.
  std::string host_port = url.substr(a->host_begin, a->host_end - a->host_begin);
  for (char& c : host_port) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string& k : known) {
    const auto ka = split_authority(k);
    if (!ka || ka->password_begin == std::string::npos ||
        k.compare(0, ka->password_begin, user_part) != 0) {
      continue;
    }
    std::string known_host = k.substr(ka->host_begin, ka->host_end - ka->host_begin);
    for (char& c : known_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (known_host != host_port) continue;
    return user_part + k.substr(ka->password_begin, ka->userinfo_end - ka->password_begin) +
           url.substr(a->userinfo_end);
  }
  return url;
}

std::string redact_all_urls(const std::string& text) {
  std::string out;
  size_t done = 0;
  for (size_t sep = text.find("://"); sep != std::string::npos;
       sep = text.find("://", sep + 3)) {
    if (sep < done) continue;
    size_t start = sep;
    while (start > done && (std::isalnum(static_cast<unsigned char>(text[start - 1])) ||
                            text[start - 1] == '+' || text[start - 1] == '-' ||
                            text[start - 1] == '.')) {
      --start;
    }
    size_t end = sep + 3;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    out.append(text, done, start - done);
    out += redact_url(text.substr(start, end - start));
    done = end;
  }
  out.append(text, done);
  return out;
}

}  // namespace vigil
