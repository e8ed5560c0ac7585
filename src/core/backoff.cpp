#include "core/backoff.h"

#include <algorithm>

namespace vigil {

std::chrono::milliseconds Backoff::next() {
  const int shift = std::min(attempt_, 20);
  ++attempt_;
  const int64_t base = std::min<int64_t>(initial_.count() << shift, max_.count());
  const int64_t half = base / 2;
  std::uniform_int_distribution<int64_t> dist(0, half);
  return std::chrono::milliseconds(base - half + dist(rng_));
}

}  // namespace vigil
