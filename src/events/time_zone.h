// Local time for schedules ("19:00-07:00 and weekends" is local time, not UTC). C++20's
// std::chrono::zoned_time is missing from GCC 12 (Debian 12), so a named zone is read here from
// its TZif file (RFC 8536) under /usr/share/zoneinfo; with no name, the host's zone is asked
// through localtime_r (TZ, else /etc/localtime). Immutable after construction: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/time.h"

namespace vigil {

class TimeZone {
 public:
  // The host's zone.
  TimeZone() = default;
  // A named IANA zone ("Europe/Berlin"), read from `zoneinfo_dir`. Throws Error(kInvalidArgument)
  // naming the file when it is missing or not TZif.
  explicit TimeZone(const std::string& name,
                    const std::filesystem::path& zoneinfo_dir = "/usr/share/zoneinfo");
  // A fixed offset from UTC (tests).
  static TimeZone fixed(std::chrono::seconds utc_offset);

  // Local time minus UTC at the instant `t`.
  std::chrono::seconds offset_at(WallTime t) const;
  const std::string& name() const { return name_; }

 private:
  enum class Kind { kHost, kTable } kind_ = Kind::kHost;
  std::string name_ = "host local time";
  // RFC 8536 §3.2: transition instants (seconds since the epoch, ascending) and the offset in
  // force from each. After the last transition the last offset holds (Debian's "fat" files list
  // transitions up to 2037).
  std::vector<int64_t> transitions_;
  std::vector<int32_t> offsets_;  // offsets_[i] from transitions_[i]
  int32_t initial_offset_ = 0;    // before the first transition
};

}  // namespace vigil
