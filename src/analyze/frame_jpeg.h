// JPEG of a decoded picture, for event snapshots: made only when someone asks (an event starts
// or peaks), from the reference-counted decoder frame kept with the analysis result.
#pragma once

#include <cstdint>
#include <vector>

struct AVFrame;

namespace vigil {

// Colour JPEG no wider than `max_width` (aspect kept). Thread-safe: reads `picture` only.
// Empty when the picture cannot be converted.
std::vector<uint8_t> frame_to_jpeg(const AVFrame& picture, int max_width = 1280, int quality = 85);

}  // namespace vigil
