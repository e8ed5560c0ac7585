// What retention must keep because of evidence holds (catalog/holds.h): footage, events (and,
// once they are in the catalog, a camera's chain entries and checkpoints) that overlap an
// active hold of their camera are never deleted. Read once per retention pass (holds are few);
// every deletion asks is_held() / held_until() first, in memory.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/holds.h"
#include "core/time.h"

namespace vigil {

class HeldFootage {
 public:
  HeldFootage() = default;
  explicit HeldFootage(std::map<std::string, std::vector<HeldRange>> ranges)
      : ranges_(std::move(ranges)) {}
  // The active holds of every camera.
  static HeldFootage load(HoldStore& holds);

  // When [start, end) of `camera` (a catalog id: a recorded sub stream is held with its
  // camera) overlaps a held range: the end of that range (footage
  // starting before it may be held too; footage starting at or after it is judged again).
  // An instant (start == end) is held when a range contains it.
  std::optional<WallTime> held_until(const std::string& camera, WallTime start,
                                     WallTime end) const;
  // The one question retention asks before it deletes anything of a camera's past.
  bool is_held(const std::string& camera, WallTime start, WallTime end) const {
    return held_until(camera, start, end).has_value();
  }
  bool empty() const { return ranges_.empty(); }
  std::vector<std::string> cameras() const;

 private:
  std::map<std::string, std::vector<HeldRange>> ranges_;  // merged, sorted
};

}  // namespace vigil
