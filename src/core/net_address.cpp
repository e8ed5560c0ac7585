#include "core/net_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace vigil {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// An address as 16 bytes; IPv4 mapped into IPv6 so that both kinds compare alike.
std::optional<std::array<uint8_t, 16>> parse_address(std::string_view text, bool& v4) {
  const std::string s(text);
  std::array<uint8_t, 16> out{};
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    v4 = true;
    return out;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v4 = false;
    return out;
  }
  return std::nullopt;
}

bool contains(const IpNetwork& n, const std::array<uint8_t, 16>& a) {
  int bits = n.prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((n.bytes[i] & mask) != (a[i] & mask)) return false;
  }
  return true;
}

}  // namespace

std::optional<IpNetwork> parse_ip_network(std::string_view text) {
  text = trim(text);
  const size_t slash = text.find('/');
  bool v4 = false;
  auto addr = parse_address(text.substr(0, slash), v4);
  if (!addr) return std::nullopt;
  IpNetwork n;
  n.bytes = *addr;
  n.prefix = 128;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    int bits = 0;
    for (const char c : p) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      bits = bits * 10 + (c - '0');
    }
    if (bits > (v4 ? 32 : 128)) return std::nullopt;
    n.prefix = v4 ? 96 + bits : bits;
  }
  return n;
}

bool in_networks(const std::vector<IpNetwork>& networks, std::string_view ip) {
  bool v4 = false;
  auto a = parse_address(trim(ip), v4);
  if (!a) return false;
  for (const IpNetwork& n : networks) {
    if (contains(n, *a)) return true;
  }
  return false;
}

std::string forwarded_client(const std::vector<IpNetwork>& trusted, const std::string& peer,
                             std::string_view forwarded_for) {
  if (!in_networks(trusted, peer)) return peer;
  std::string client = peer;
  while (!forwarded_for.empty()) {
    const size_t comma = forwarded_for.rfind(',');
    const std::string_view hop =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    bool v4 = false;
    if (!parse_address(hop, v4)) break;  // garbage: keep the last address we could believe
    client = std::string(hop);
    if (!in_networks(trusted, hop)) break;
  }
  return client;
}

}  // namespace vigil
