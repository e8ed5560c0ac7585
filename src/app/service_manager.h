// Talking to systemd when vigil runs as a `Type=notify` service (debian/vigil.service):
// READY=1 once the web server listens and recording has started, WATCHDOG=1 from the main loop
// while the recorder still answers, STOPPING=1 on the way out. Outside systemd (no
// $NOTIFY_SOCKET) every call does nothing, so `vigil serve` run by hand or by the tests is
// unchanged.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace vigil {

// READY=1 with a STATUS= line systemctl shows.
void notify_ready(const std::string& status);
void notify_stopping();
void notify_watchdog();
// How often the main loop must ping the watchdog: half of the unit's WatchdogSec (systemd's
// advice), or nullopt when no watchdog is asked for.
std::optional<std::chrono::milliseconds> watchdog_ping_period();

}  // namespace vigil
