// systemd's notification protocol through libsystemd: see service_manager.h.
#include "app/service_manager.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace vigil {
namespace {

void notify(const std::string& state) {
  // 0: no $NOTIFY_SOCKET (not under systemd); < 0: the socket refused, which only costs
  // systemd's view of vigil (a unit that never becomes ready fails its start), so it is logged.
  if (const int r = sd_notify(0, state.c_str()); r < 0) {
    spdlog::warn("systemd: sd_notify(\"{}\") failed: error {}", state, -r);
  }
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void notify_stopping() { notify("STOPPING=1"); }

void notify_watchdog() { notify("WATCHDOG=1"); }

std::optional<std::chrono::milliseconds> watchdog_ping_period() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(std::max<uint64_t>(usec / 2000, 1));
}

}  // namespace vigil
