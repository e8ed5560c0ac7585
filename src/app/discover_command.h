// `vigil discover`: finds ONVIF cameras (onvif/find.h) and prints what answers; with a user name
// and password, each camera's profiles and main/sub stream URLs. Needs no configuration.
#pragma once

#include <string>
#include <vector>

namespace vigil {

struct DiscoverOptions {
  std::vector<std::string> addresses;  // directed probes, "A" or "A:PORT"
  std::string subnet;                  // directed probes to each host, "192.168.1.0/24"
  std::vector<std::string> devices;    // device service URLs read directly (no probe)
  bool multicast = false;              // also when neither addresses nor subnet nor devices
  std::string interface_address;       // multicast out of this address
  std::string user, password;
  int wait_ms = 2000;
  bool json = false;
};

// Exit status: 0 cameras found (and read, with credentials), 1 none answered, 2 bad arguments,
// 3 a camera was found but could not be read (e.g. unauthorized).
int run_discover(const DiscoverOptions& options);

}  // namespace vigil
