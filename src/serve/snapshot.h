// Still images of cameras for GET /api/cameras/{id}/snapshot.jpg: the latest keyframe that the
// live hub holds, decoded (libavcodec) and encoded as JPEG (FFmpeg's MJPEG encoder) only when
// someone asks, and at most once per keyframe — every request until the next keyframe gets the
// cached image. Decoding keyframes only on demand keeps recording free of decoding work.
// Thread-safe: one mutex; a decode takes a few ms to a few tens of ms (1080p) on a handler thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "serve/live_hub.h"

namespace vigil {

struct JpegImage {
  std::string bytes;
  int width = 0;  // of the decoded picture, in pixels
  int height = 0;
};

// Decodes one keyframe and encodes it as a JPEG of the same size. Throws Error(kInternal)
// naming the step that failed (an undecodable frame, no decoder).
JpegImage keyframe_to_jpeg_image(const StreamInfo& info, const AVPacket& keyframe);
inline std::string keyframe_to_jpeg(const StreamInfo& info, const AVPacket& keyframe) {
  return keyframe_to_jpeg_image(info, keyframe).bytes;
}

class SnapshotCache {
 public:
  // The JPEG of `k`, decoding it unless this camera's cached image came from the same keyframe.
  std::shared_ptr<const std::string> jpeg(const std::string& camera_id, const LiveHub::Keyframe& k);

 private:
  struct Entry {
    uint64_t seq = 0;
    std::shared_ptr<const StreamInfo> info;  // a new connection has new info (and new seqs)
    std::shared_ptr<const std::string> jpeg;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace vigil
