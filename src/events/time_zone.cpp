#include "events/time_zone.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace vigil {
namespace {

int64_t read_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

TimeZone::TimeZone(const std::string& name, const std::filesystem::path& zoneinfo_dir)
    : kind_(Kind::kTable), name_(name) {
  const std::filesystem::path file = zoneinfo_dir / name;
  std::ifstream in(file, std::ios::binary);
  const std::vector<uint8_t> d((std::istreambuf_iterator<char>(in)), {});
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument,
                 "time zone " + name + " (" + file.string() + "): " + why);
  };
  if (!in.eof() && d.empty()) throw bad("cannot read it");
  // RFC 8536 §3.1: header "TZif", version, 15 reserved bytes, six 32-bit counts.
  auto header = [&](size_t at, int64_t counts[6]) {
    if (d.size() < at + 44 || d[at] != 'T' || d[at + 1] != 'Z' || d[at + 2] != 'i' ||
        d[at + 3] != 'f') {
      throw bad("not a TZif file");
    }
    for (int i = 0; i < 6; ++i) counts[i] = read_be(&d[at + 20 + 4 * static_cast<size_t>(i)], 4);
    return d[at + 4];
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  const uint8_t version = header(0, c);
  size_t at = 44;
  int time_bytes = 4;
  if (version >= '2') {
    // Skip the version-1 block; the 64-bit one follows with its own header.
    at += static_cast<size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    header(at, c);
    at += 44;
    time_bytes = 8;
  }
  const size_t timecnt = static_cast<size_t>(c[3]);
  const size_t typecnt = static_cast<size_t>(c[4]);
  const size_t need = timecnt * static_cast<size_t>(time_bytes) + timecnt + typecnt * 6;
  if (typecnt == 0 || d.size() < at + need) throw bad("truncated");
  const size_t idx_at = at + timecnt * static_cast<size_t>(time_bytes);
  const size_t types_at = idx_at + timecnt;
  auto type_offset = [&](size_t type) {
    if (type >= typecnt) throw bad("transition names a missing type");
    return static_cast<int32_t>(read_be(&d[types_at + 6 * type], 4));
  };
  for (size_t i = 0; i < timecnt; ++i) {
    transitions_.push_back(read_be(&d[at + i * static_cast<size_t>(time_bytes)], time_bytes));
    offsets_.push_back(type_offset(d[idx_at + i]));
  }
  initial_offset_ = type_offset(0);  // RFC 8536 §3.2: type 0 applies before the first transition
}

TimeZone TimeZone::fixed(std::chrono::seconds utc_offset) {
  TimeZone z;
  z.kind_ = Kind::kTable;
  z.name_ = "UTC" + std::string(utc_offset.count() < 0 ? "-" : "+") +
            std::to_string(std::abs(utc_offset.count()) / 3600);
  z.initial_offset_ = static_cast<int32_t>(utc_offset.count());
  return z;
}

std::chrono::seconds TimeZone::offset_at(WallTime t) const {
  const int64_t secs = ms_since_epoch(t) / 1000 - (ms_since_epoch(t) % 1000 < 0 ? 1 : 0);
  if (kind_ == Kind::kHost) {
    const std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    localtime_r(&tt, &tm);
    return std::chrono::seconds(tm.tm_gmtoff);
  }
  int32_t off = initial_offset_;
  // Transitions are few (a few hundred); the last one at or before `secs` wins.
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), secs);
  if (it != transitions_.begin())
    off = offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
  return std::chrono::seconds(off);
}

}  // namespace vigil
