// Timeline previews (GET /api/cameras/{id}/preview?t=MS): a thumbnail of the recorded moment
// nearest `t`, that is of the keyframe that starts the fragment (one GOP) nearest to it — of the
// sub stream when the camera records one (cheaper to decode, and a thumbnail shows no more),
// else of the main stream. Decoded only when asked for: libavformat reads the file's init part
// and that one fragment from memory, libavcodec decodes its first picture and frame_to_jpeg
// scales it down and encodes it. A hover over the timeline asks for the same few keyframes again
// and again, so the JPEGs are kept in a bounded cache (least recently used out first).
// Thread-safe: PreviewCache locks; the functions are pure.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "record/fragment_index.h"
#include "serve/playlist.h"

namespace vigil {

struct KeyframePick {
  int64_t segment_id = 0;
  WallTime at;              // wall time of the keyframe (the fragment's start)
  uint64_t init_bytes = 0;  // of the segment file
  Fragment fragment;        // the fragment it starts
};

// The fragment of `files` whose start is nearest to `at` (each fragment begins with a
// keyframe); none when every one is farther than `max_distance`. Ties go to the earlier one.
std::optional<KeyframePick> nearest_keyframe(const std::vector<PlaylistFile>& files, WallTime at,
                                             WallDuration max_distance);

// The first picture of `init` followed by `fragment` (an fMP4 init part and one moof+mdat) as a
// JPEG no wider than `max_width`; nullopt when the bytes do not demux or decode (a damaged file
// is not a reason to throw on a hover).
std::optional<std::string> fragment_thumbnail(std::string_view init, std::string_view fragment,
                                              int max_width);

// JPEGs by key (catalog id, segment, fragment offset), at most `max_entries` of them.
class PreviewCache {
 public:
  explicit PreviewCache(size_t max_entries) : max_entries_(max_entries) {}
  std::shared_ptr<const std::string> get(const std::string& key);
  void put(const std::string& key, std::shared_ptr<const std::string> jpeg);

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const std::string>>;
  const size_t max_entries_;
  std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first; guarded by mu_
  std::map<std::string, std::list<Entry>::iterator> index_;  // guarded by mu_
};

}  // namespace vigil
