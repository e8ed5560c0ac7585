#include "onvif/discovery.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <set>

#include "core/error.h"

namespace vigil::onvif {
namespace {

// A ProbeMatches is a few kilobytes; a UDP datagram cannot exceed 64 KiB anyway.
constexpr size_t kMaxDatagram = 65'535;

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw Error(ErrorCode::kUnavailable, "discovery: socket: " + errno_string(errno));
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string random_uuid() {
  // RFC 4122 version 4 (random).
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw Error(ErrorCode::kInternal, "discovery: no random bytes");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

sockaddr_in to_sockaddr(const std::string& host, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    throw Error(ErrorCode::kInvalidArgument, "discovery: not an IPv4 address: " + host);
  }
  return sa;
}

}  // namespace

std::optional<ProbeTarget> parse_target(const std::string& s) {
  ProbeTarget t;
  const auto colon = s.rfind(':');
  t.host = s.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string p = s.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) return std::nullopt;
    t.port = static_cast<uint16_t>(v);
  }
  in_addr a{};
  if (::inet_pton(AF_INET, t.host.c_str(), &a) != 1) return std::nullopt;
  return t;
}

std::optional<std::vector<ProbeTarget>> subnet_targets(const std::string& cidr, std::string& error) {
  const auto slash = cidr.find('/');
  in_addr a{};
  unsigned bits = 33;
  if (slash != std::string::npos) {
    const std::string b = cidr.substr(slash + 1);
    auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (ec != std::errc() || end != b.data() + b.size()) bits = 33;
  }
  if (slash == std::string::npos || bits > 32 ||
      ::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) {
    error = "not an IPv4 subnet like 192.168.1.0/24: " + cidr;
    return std::nullopt;
  }
  const uint64_t size = uint64_t{1} << (32 - bits);
  if (size > kMaxSubnetHosts) {
    error = "subnet " + cidr + " has " + std::to_string(size) + " addresses; at most " +
            std::to_string(kMaxSubnetHosts) + " are probed (a /22)";
    return std::nullopt;
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  const uint32_t net = ntohl(a.s_addr) & mask;
  std::vector<ProbeTarget> out;
  for (uint64_t i = 0; i < size; ++i) {
    // The network and broadcast addresses hold no camera (a /31 or /32 has neither).
    if (size >= 4 && (i == 0 || i == size - 1)) continue;
    in_addr h{htonl(net + static_cast<uint32_t>(i))};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &h, buf, sizeof buf);
    out.push_back({buf, kDiscoveryPort});
  }
  return out;
}

DiscoveryResult discover(const DiscoveryRequest& request) {
  Socket sock;
  // Bound to an ephemeral port: answers come back to where the probe came from (WS-Discovery
  // §5.3), so nothing needs to listen on 3702.
  if (request.multicast) {
    const unsigned char ttl = 1;  // cameras are on the local network; never route the probe
    ::setsockopt(sock.fd(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    if (!request.interface_address.empty()) {
      in_addr itf{};
      if (::inet_pton(AF_INET, request.interface_address.c_str(), &itf) != 1) {
        throw Error(ErrorCode::kInvalidArgument,
                    "discovery: not an IPv4 interface address: " + request.interface_address);
      }
      if (::setsockopt(sock.fd(), IPPROTO_IP, IP_MULTICAST_IF, &itf, sizeof itf) != 0) {
        throw Error(ErrorCode::kUnavailable, "discovery: interface " + request.interface_address +
                                                 ": " + errno_string(errno));
      }
    }
  }
  const std::string message_id = "uuid:" + random_uuid();
  const std::string probe = build_probe(message_id);
  auto send_to = [&](const sockaddr_in& sa) {
    // A refused or unroutable host is not an error for a sweep: it simply does not answer.
    ::sendto(sock.fd(), probe.data(), probe.size(), 0, reinterpret_cast<const sockaddr*>(&sa),
             sizeof sa);
  };
  if (request.multicast) {
    const sockaddr_in group = to_sockaddr(kDiscoveryGroup, kDiscoveryPort);
    if (::sendto(sock.fd(), probe.data(), probe.size(), 0,
                 reinterpret_cast<const sockaddr*>(&group), sizeof group) < 0) {
      throw Error(ErrorCode::kUnavailable, "discovery: multicast probe: " + errno_string(errno));
    }
  }
  for (const auto& t : request.targets) send_to(to_sockaddr(t.host, t.port));

  DiscoveryResult result;
  std::set<std::string> seen;
  std::string buf(kMaxDatagram, '\0');
  const auto deadline = std::chrono::steady_clock::now() + request.wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{sock.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = ::recvfrom(sock.fd(), buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0) continue;  // e.g. ICMP port unreachable from a swept host, reported here
    std::string error;
    auto matches = parse_probe_matches(std::string_view(buf.data(), static_cast<size_t>(got)),
                                       message_id, error);
    if (!matches) {
      ++result.ignored_answers;
      continue;
    }
    char addr[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
    for (auto& m : *matches) {
      const std::string key = m.endpoint.empty() ? m.xaddrs.front() : m.endpoint;
      if (!seen.insert(key).second) continue;
      result.cameras.push_back(
          {std::move(m), std::string(addr) + ":" + std::to_string(ntohs(from.sin_port))});
    }
    // Thousands of strangers answering is not a camera network; stop listening.
    if (result.cameras.size() >= 1024) break;
  }
  return result;
}

}  // namespace vigil::onvif
