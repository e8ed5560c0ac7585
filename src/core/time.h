// Typed time for vigil. Two clocks never mix:
//  - wall time (UTC, milliseconds since the Unix epoch) labels footage and is what users see;
//  - media time (90 kHz ticks, the RTP video clock) measures footage as the camera timed it.
// A bare integer that could be seconds, milliseconds or ticks never crosses a function boundary;
// conversions are spelled out here and nowhere else. See docs/design/time.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil {

using Ticks90k = std::chrono::duration<int64_t, std::ratio<1, 90000>>;
using WallDuration = std::chrono::milliseconds;
using WallTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
using SteadyTime = std::chrono::steady_clock::time_point;

// Media duration to wall duration, rounding to the nearest millisecond.
inline WallDuration to_wall(Ticks90k t) {
  return std::chrono::round<WallDuration>(t);
}
inline Ticks90k to_ticks(WallDuration d) { return std::chrono::duration_cast<Ticks90k>(d); }

inline WallTime wall_from_ms(int64_t ms_since_epoch) { return WallTime{WallDuration{ms_since_epoch}}; }
inline int64_t ms_since_epoch(WallTime t) { return t.time_since_epoch().count(); }

// ISO 8601 UTC with milliseconds, e.g. "2026-11-23T09:26:30.123Z", for logs and JSON.
std::string format_iso8601(WallTime t);

}  // namespace vigil
