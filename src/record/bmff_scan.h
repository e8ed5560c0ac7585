// Reads the box structure of a fragmented MP4 segment file (ISO/IEC 14496-12) without trusting
// it: recovery after a crash, `vigil check`, and tests use it to find the init part and every
// complete fragment. A truncated or corrupt file is an answer, not an exception: the scan stops
// at the first box that does not fit and says why in `problem`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/time.h"

namespace vigil {

struct ScannedFragment {
  uint64_t offset = 0;       // of the moof box
  uint64_t size = 0;         // moof .. end of its mdat
  Ticks90k decode_start{0};  // tfdt of the video track
  Ticks90k duration{0};      // sum of the video track's sample durations
  uint32_t video_samples = 0;
};

struct BmffScan {
  bool readable = false;      // the file could be opened
  bool has_init = false;      // ftyp and moov are complete
  uint64_t init_bytes = 0;    // end of moov
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;   // end of the last complete fragment (or of the init part)
  uint32_t video_track_id = 0;
  uint32_t video_timescale = 0;
  std::vector<ScannedFragment> fragments;  // complete ones only, in file order
  std::string problem;        // empty when the whole file is well formed

  Ticks90k media_duration() const;
};

BmffScan scan_fragmented_mp4(const std::filesystem::path& file);

}  // namespace vigil
