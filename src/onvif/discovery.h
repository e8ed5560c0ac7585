// WS-Discovery for ONVIF cameras (ONVIF Core §7.3): sends a Probe for NetworkVideoTransmitter
// and collects the ProbeMatches that come back within a time limit. Three ways to ask:
//  - multicast to 239.255.255.250:3702 out of one interface (`interface_address`, or the
//    kernel's choice for the default route), as cameras expect;
//  - a directed (unicast) probe to one address, since multicast does not cross routers or VPNs;
//  - a directed probe to every host of a subnet the user names (at most kMaxSubnetHosts).
// Answers are untrusted datagrams: each is size-bounded and parsed by parse_probe_matches; ones
// that do not parse are counted, not fatal. Blocking; thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onvif/messages.h"

namespace vigil::onvif {

inline constexpr uint16_t kDiscoveryPort = 3702;
inline constexpr const char* kDiscoveryGroup = "239.255.255.250";
// A /22: probing more than this is scanning someone else's network, not finding one's cameras.
inline constexpr uint32_t kMaxSubnetHosts = 1024;

struct ProbeTarget {
  std::string host;  // IPv4 address
  uint16_t port = kDiscoveryPort;
};

struct DiscoveryRequest {
  bool multicast = false;
  std::string interface_address;  // multicast out of this IPv4 address; empty: the kernel picks
  std::vector<ProbeTarget> targets;  // directed probes
  std::chrono::milliseconds wait{2'000};
};

struct Discovered {
  ProbeMatch match;
  std::string from;  // the address the answer came from ("192.168.1.64:3702")
};

struct DiscoveryResult {
  std::vector<Discovered> cameras;  // one per endpoint, first answer kept
  int ignored_answers = 0;          // datagrams that were not a usable ProbeMatches
};

// Throws vigil::Error (kInvalidArgument, kUnavailable) only for local failures: no socket, an
// unusable interface address.
DiscoveryResult discover(const DiscoveryRequest& request);

// "192.168.1.64" or "192.168.1.64:3702" → a target; nullopt when not IPv4[:port].
std::optional<ProbeTarget> parse_target(const std::string& s);
// "192.168.1.0/24" → its hosts (network and broadcast addresses left out for /30 and wider),
// nullopt with `error` when malformed or larger than kMaxSubnetHosts.
std::optional<std::vector<ProbeTarget>> subnet_targets(const std::string& cidr, std::string& error);

}  // namespace vigil::onvif
