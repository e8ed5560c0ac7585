// Decodes the video packets analysis asks for and turns the pictures it analyses into small grey
// frames. One libavcodec decoder per camera, single-threaded (threads=1: frame threading would
// add a frame of latency per thread and a thread per camera for no gain at analysis sizes),
// told to skip what no later frame needs (non-reference frames) where the stream marks them,
// and the deblocking filter (FrameDecoderOptions). Only the luma plane is read and shrunk
// (INTER_AREA averages, which also divides sensor noise), and only for the frames analysed;
// other pixel formats go through libswscale.
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
  int64_t pts = 0;                         // best-effort timestamp, stream time base
};

struct FrameDecoderOptions {
  int analysis_width = 320;
  // H.264/HEVC deblocking skipped on every frame: ~30 % of a 1080p decode. The blocking it
  // leaves (and the drift it causes until the next keyframe, references being unfiltered)
  // is averaged away by the downscale to analysis width; the snapshot JPEG shows it a little.
  bool skip_deblocking = true;
};

class FrameDecoder {
 public:
  FrameDecoder(std::string camera_id, FrameDecoderOptions options);
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
  // The picture as an 8-bit grey frame of the analysis width (aspect kept); empty when its
  // pixel format cannot be converted. Only frames that are analysed pay for this.
  cv::Mat grey(const AVFrame& f);

  int64_t frames_decoded() const { return frames_decoded_; }

 private:
  const std::string camera_id_;
  const FrameDecoderOptions options_;
  AVCodecContext* ctx_ = nullptr;
  SwsContext* sws_ = nullptr;
  int64_t frames_decoded_ = 0;
};

}  // namespace vigil
