// The clocks seam: everything that asks "what time is it" asks a Clock, so tests can move time
// (a host clock jump, a long outage) without sleeping. Implementations are thread-safe.
#pragma once

#include <chrono>

#include "core/time.h"

namespace vigil {

class Clock {
 public:
  virtual ~Clock() = default;
  // Host wall clock (may jump: NTP steps, an operator setting the date).
  virtual WallTime wall_now() const = 0;
  // Monotonic clock for timeouts and rates; never jumps.
  virtual SteadyTime steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime wall_now() const override {
    return std::chrono::time_point_cast<WallDuration>(std::chrono::system_clock::now());
  }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace vigil
