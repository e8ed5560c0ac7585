// IP addresses and networks as an operator writes them in [http] trusted_proxies
// ("127.0.0.1", "10.0.0.0/8", "fd00::/8"), and the client address of a request that came through
// such a proxy. In core because the configuration validates the list at load time and serve
// applies it to every request: one parser for both.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct IpNetwork {
  std::array<uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d)
  int prefix = 128;                 // in bits of the 16 bytes
};

// "a.b.c.d", "a.b.c.d/n", an IPv6 address, or "x::/n"; nullopt when it is none of these.
std::optional<IpNetwork> parse_ip_network(std::string_view text);
// Whether `ip` (an address as text, IPv4 or IPv6) lies in one of `networks`. False for text that
// is no address.
bool in_networks(const std::vector<IpNetwork>& networks, std::string_view ip);

// The client behind a chain of trusted proxies: `peer` is who connected, `forwarded_for` the
// X-Forwarded-For header ("client, proxy1, proxy2"; "" when absent). Walking from the right, each
// hop added by a trusted proxy is believed, and the first address not in `trusted` is the client:
// a client cannot forge its way in by writing a header of its own, since only what the trusted
// proxies appended is read. `peer` itself when it is not trusted or no usable hop is given.
std::string forwarded_client(const std::vector<IpNetwork>& trusted, const std::string& peer,
                             std::string_view forwarded_for);

}  // namespace vigil
