// Slows down password guessing: once one key (an address, or an account) has `free_failures`
// failed logins, its next attempt must wait base_delay, the one after a further failure twice
// that, and so on up to max_delay; a success or `forget_after` without failures clears the key.
// While a key waits, the caller answers 429 with Retry-After and does not even check the password,
// so guessing costs the attacker time and costs vigil no Argon2 work. In memory only: a restart
// forgives. Thread-safe. Bounded: at most max_keys keys are tracked (the stalest are dropped
// first).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"

namespace vigil {

struct ThrottlePolicy {
  int free_failures = 5;
  std::chrono::seconds base_delay{1};
  std::chrono::seconds max_delay{15 * 60};
  std::chrono::seconds forget_after{60 * 60};
  size_t max_keys = 10'000;
};

class FailureThrottle {
 public:
  FailureThrottle(const Clock& clock, ThrottlePolicy policy) : clock_(clock), policy_(policy) {}

  // How long `key` must still wait (rounded up to whole seconds), or nullopt if it may try now.
  std::optional<std::chrono::seconds> wait_time(const std::string& key);
  void record_failure(const std::string& key);
  void record_success(const std::string& key);
  size_t tracked_keys();
  // Whether `key` has failures not yet forgotten.
  bool has_failures(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    SteadyTime last_failure;
    SteadyTime locked_until;
  };
  void forget_stale(SteadyTime now);

  const Clock& clock_;
  const ThrottlePolicy policy_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace vigil
