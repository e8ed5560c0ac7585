// Evidence holds (migration 7 in catalog.cpp): an operator puts a hold, with a name and a
// reason, on some cameras and a time range; retention never deletes footage or events that
// overlap an active hold (retention/held_footage.h). A hold is released (by an admin), never
// deleted: the list keeps what was held, when, and by whom. There are few holds, so the active
// ones of a camera are read whole and merged; footage is checked against them in memory.
// Thread-safe: its own connection to the catalog (vigil.db, or PostgreSQL) behind a mutex.
// Construct it after a Catalog has migrated the catalog.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/sql.h"
#include "core/time.h"

namespace vigil {

struct Hold {
  int64_t id = 0;
  std::string name;
  std::string reason;
  std::vector<std::string> cameras;  // sorted
  WallTime from;                     // held footage overlaps [from, to)
  WallTime to;
  WallTime created;
  std::string created_by;
  std::optional<WallTime> released;
  std::optional<std::string> released_by;
};

// A time range under at least one active hold; ranges of one camera are sorted and disjoint.
struct HeldRange {
  WallTime from;
  WallTime to;
};

class HoldStore {
 public:
  // Opens the catalog at `location` (a file, or a postgresql:// URL: sql::open), already
  // migrated by Catalog. Throws Error if the schema is too old.
  explicit HoldStore(const std::string& location);

  // `h.id`, `released*` are ignored. Throws Error(kInvalidArgument) for an empty name or camera
  // list, or from >= to.
  int64_t add(const Hold& h);
  std::optional<Hold> get(int64_t id);
  // Newest first; released ones too when `include_released`.
  std::vector<Hold> list(bool include_released);
  // False when there is no such hold or it was released already.
  bool release(int64_t id, WallTime at, const std::string& by);

  // The active holds of `camera`, merged. O(holds of the camera).
  std::vector<HeldRange> held_ranges(const std::string& camera);
  // Cameras with at least one active hold.
  std::vector<std::string> held_cameras();
  // Bytes of the camera's segment rows (not being deleted) that overlap an active hold; on the
  // segment index, O(held segments).
  uint64_t held_bytes(const std::string& camera);
  // Bytes of the camera's segment rows (not being deleted) that overlap [from, to): what one
  // hold keeps of one camera (GET /api/holds). On the segment index, O(segments in the range).
  uint64_t bytes_in_range(const std::string& camera, WallTime from, WallTime to);

 private:
  std::vector<Hold> read(sql::Statement& st);

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;
};

// Merges overlapping or touching ranges; the result is sorted. Pure.
std::vector<HeldRange> merge_held_ranges(std::vector<HeldRange> ranges);

}  // namespace vigil
