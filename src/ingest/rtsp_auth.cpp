#include "ingest/rtsp_auth.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cctype>
#include <cstdio>

#include "ingest/rtsp_message.h"

namespace vigil {
namespace {

std::string md5_hex(const std::string& s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

std::string base64(const std::string& s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.find('\0'));
  return out;
}

// Parameters of one challenge: key=value or key="quoted, value" separated by commas.
std::vector<std::pair<std::string, std::string>> auth_params(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || std::isspace(static_cast<unsigned char>(s[i])))) ++i;
    const size_t eq = s.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = trim(std::string_view(s).substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      ++i;
    } else {
      const size_t comma = s.find(',', i);
      value = trim(std::string_view(s).substr(i, comma == std::string::npos ? comma : comma - i));
      i = comma == std::string::npos ? s.size() : comma;
    }
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace

std::optional<AuthChallenge> choose_challenge(const std::vector<std::string>& headers) {
  std::optional<AuthChallenge> basic;
  for (const std::string& h : headers) {
    const size_t sp = h.find(' ');
    const std::string scheme = h.substr(0, sp);
    const std::string rest = sp == std::string::npos ? "" : h.substr(sp + 1);
    AuthChallenge c;
    bool md5 = true;
    for (const auto& [k, v] : auth_params(rest)) {
      if (k == "realm") c.realm = v;
      if (k == "nonce") c.nonce = v;
      if (k == "opaque") c.opaque = v;
      if (k == "algorithm") md5 = equals_nocase(v, "MD5");
      if (k == "qop") c.qop_auth = v.find("auth") != std::string::npos;
    }
    if (equals_nocase(scheme, "Digest") && md5 && !c.nonce.empty()) {
      c.scheme = AuthChallenge::Scheme::kDigest;
      return c;
    }
    if (equals_nocase(scheme, "Basic")) {
      c.scheme = AuthChallenge::Scheme::kBasic;
      basic = c;
    }
  }
  return basic;
}

std::string authorization_header(const AuthChallenge& c, const std::string& user,
                                 const std::string& password, const std::string& method,
                                 const std::string& uri, unsigned nonce_count,
                                 const std::string& cnonce) {
  if (c.scheme == AuthChallenge::Scheme::kBasic) return "Basic " + base64(user + ":" + password);
  const std::string ha1 = md5_hex(user + ":" + c.realm + ":" + password);
  const std::string ha2 = md5_hex(method + ":" + uri);
  std::string out = "Digest username=\"" + user + "\", realm=\"" + c.realm + "\", nonce=\"" +
                    c.nonce + "\", uri=\"" + uri + "\"";
  if (c.qop_auth) {
    char nc[9];
    std::snprintf(nc, sizeof nc, "%08x", nonce_count);
    out += ", response=\"" + md5_hex(ha1 + ":" + c.nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2) +
           "\", qop=auth, nc=" + nc + ", cnonce=\"" + cnonce + "\"";
  } else {
    out += ", response=\"" + md5_hex(ha1 + ":" + c.nonce + ":" + ha2) + "\"";
  }
  if (!c.opaque.empty()) out += ", opaque=\"" + c.opaque + "\"";
  return out;
}

}  // namespace vigil
