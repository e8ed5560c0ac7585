// Reconnect delays: capped exponential backoff with "equal jitter" (half fixed, half random), so
// that many cameras behind one switch that reboots do not reconnect in lockstep.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace vigil {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
      : initial_(initial), max_(max), rng_(seed) {}
  // The delay before the next attempt; each call doubles the base up to the cap.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace vigil
