#include "serve/throttle.h"

#include <algorithm>

namespace vigil {

std::optional<std::chrono::seconds> FailureThrottle::wait_time(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const SteadyTime now = clock_.steady_now();
  if (now - it->second.last_failure >= policy_.forget_after) {
    entries_.erase(it);
    return std::nullopt;
  }
  if (now >= it->second.locked_until) return std::nullopt;
  return std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
}

void FailureThrottle::record_failure(const std::string& key) {
  std::lock_guard lock(mu_);
  const SteadyTime now = clock_.steady_now();
  if (entries_.size() >= policy_.max_keys && !entries_.count(key)) forget_stale(now);
  Entry& e = entries_[key];
  if (e.failures > 0 && now - e.last_failure >= policy_.forget_after) e = Entry{};
  ++e.failures;
  e.last_failure = now;
  // From the free_failures-th failure on, every failure doubles the wait before the next try.
  const int over = e.failures - policy_.free_failures + 1;
  if (over > 0) {
    // base * 2^(over-1), capped; the shift is bounded so it cannot overflow.
    auto delay = policy_.base_delay * (int64_t{1} << std::min(over - 1, 30));
    delay = std::min<std::chrono::seconds>(delay, policy_.max_delay);
    e.locked_until = now + delay;
  }
}

void FailureThrottle::record_success(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

bool FailureThrottle::has_failures(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  return it != entries_.end() && clock_.steady_now() - it->second.last_failure < policy_.forget_after;
}

size_t FailureThrottle::tracked_keys() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void FailureThrottle::forget_stale(SteadyTime now) {
  std::erase_if(entries_, [&](const auto& kv) {
    return now - kv.second.last_failure >= policy_.forget_after && now >= kv.second.locked_until;
  });
  // Still full: drop the key that failed longest ago (a flood of new keys must not make vigil
  // forget a locked account faster than its own failures would, but memory must stay bounded).
  while (entries_.size() >= policy_.max_keys) {
    auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
    entries_.erase(oldest);
  }
}

}  // namespace vigil
