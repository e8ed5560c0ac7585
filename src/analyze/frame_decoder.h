// Decodes the video packets analysis asks for and turns each picture into a small grey frame.
// One libavcodec decoder per camera, single-threaded (threads=1: frame threading would add a
// frame of latency per thread and a thread per camera for no gain at analysis sizes), told to
// skip what no later frame needs (non-reference frames, and deblocking of those) where the
// stream marks them. Only the luma plane is read and shrunk (INTER_AREA averages, which also
// divides sensor noise); other pixel formats go through libswscale.
// Not thread-safe: used on the camera's analysis thread only.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/media.h"

struct AVCodecContext;
struct AVFrame;
struct SwsContext;

namespace vigil {

struct DecodedFrame {
  std::shared_ptr<const AVFrame> picture;  // reference-counted decoder output
  cv::Mat grey;                            // analysis width, 8-bit
  int64_t pts = 0;                         // best-effort timestamp, stream time base
};

class FrameDecoder {
 public:
  FrameDecoder(std::string camera_id, int analysis_width);
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // (Re)opens the decoder for a stream's parameters. Throws Error (camera, codec) on failure.
  void open(const StreamInfo& info);
  bool is_open() const { return ctx_ != nullptr; }
  // Decodes one packet; appends the pictures it completes. False when the decoder rejected it
  // (corrupt data, missing reference): the caller should feed a keyframe next.
  bool decode(const AVPacket& pkt, std::vector<DecodedFrame>& out);
  // Forget reference state (packets were skipped): the next packet must be a keyframe.
  void reset();

  int64_t frames_decoded() const { return frames_decoded_; }

 private:
  cv::Mat to_grey(const AVFrame& f);

  const std::string camera_id_;
  const int width_;
  AVCodecContext* ctx_ = nullptr;
  SwsContext* sws_ = nullptr;
  int64_t frames_decoded_ = 0;
};

}  // namespace vigil
