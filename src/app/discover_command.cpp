#include "app/discover_command.h"

#include <iostream>

#include "core/error.h"
#include "onvif/find.h"

namespace vigil {

int run_discover(const DiscoverOptions& o) {
  onvif::DiscoveryRequest request;
  request.wait = std::chrono::milliseconds(o.wait_ms);
  request.interface_address = o.interface_address;
  for (const auto& a : o.addresses) {
    auto t = onvif::parse_target(a);
    if (!t) {
      std::cerr << "vigil discover: --address wants an IPv4 address[:port], not " << a << "\n";
      return 2;
    }
    request.targets.push_back(*t);
  }
  if (!o.subnet.empty()) {
    std::string error;
    auto hosts = onvif::subnet_targets(o.subnet, error);
    if (!hosts) {
      std::cerr << "vigil discover: --subnet: " << error << "\n";
      return 2;
    }
    request.targets.insert(request.targets.end(), hosts->begin(), hosts->end());
  }
  request.multicast = o.multicast || (request.targets.empty() && o.devices.empty());
  const onvif::Credentials credentials{o.user, o.password};
  SystemClock clock;
  constexpr std::chrono::milliseconds kCallTimeout{5'000};
  std::vector<onvif::FoundCamera> found;
  try {
    if (request.multicast || !request.targets.empty()) {
      found = onvif::find_cameras(request, credentials, clock, kCallTimeout);
    }
  } catch (const Error& e) {
    std::cerr << "vigil discover: " << e.what() << "\n";
    return 2;
  }
  for (const auto& d : o.devices) found.push_back(onvif::read_device(d, credentials, clock, kCallTimeout));
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : found) out.push_back(onvif::to_json(c));
    std::cout << nlohmann::json{{"cameras", out}}.dump(2) << "\n";
  } else {
    std::cout << onvif::format_found(found);
  }
  if (found.empty()) return 1;
  for (const auto& c : found) {
    if (!c.reason.empty()) return 3;
  }
  return 0;
}

}  // namespace vigil
