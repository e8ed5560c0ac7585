#include "serve/snapshot.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <vector>

#include "analyze/frame_jpeg.h"
#include "core/error.h"
#include "ingest/media.h"

namespace vigil {
namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw Error(ErrorCode::kInternal, "snapshot: " + what + ": " + av_error_text(err));
}

FramePtr decode(const StreamInfo& info, const AVPacket& keyframe) {
  const AVCodec* codec = avcodec_find_decoder(info.video->codec_id);
  if (!codec)
    throw Error(ErrorCode::kInternal, "snapshot: no decoder for " + info.video_codec_name());
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) fail("decoder", AVERROR(ENOMEM));
  int err = avcodec_parameters_to_context(ctx.get(), info.video.get());
  if (err < 0) fail("decoder parameters", err);
  ctx->thread_count = 1;  // one frame: threads would only add start-up cost
  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) fail("open decoder", err);
  err = avcodec_send_packet(ctx.get(), &keyframe);
  if (err < 0) fail("decode keyframe", err);
  avcodec_send_packet(ctx.get(), nullptr);  // flush: the one frame comes out now
  FramePtr frame(av_frame_alloc());
  err = avcodec_receive_frame(ctx.get(), frame.get());
  if (err < 0) fail("decode keyframe", err);
  return frame;
}

}  // namespace

JpegImage keyframe_to_jpeg_image(const StreamInfo& info, const AVPacket& keyframe) {
  FramePtr frame = decode(info, keyframe);
  // Full size; quality 90 is MJPEG's quantiser 3, visually close to the source.
  std::vector<uint8_t> jpeg = frame_to_jpeg(*frame, frame->width, 90);
  if (jpeg.empty()) {
    throw Error(ErrorCode::kInternal, "snapshot: cannot encode a " +
                                          std::to_string(frame->width) + "x" +
                                          std::to_string(frame->height) + " picture as JPEG");
  }
  return {std::string(jpeg.begin(), jpeg.end()), frame->width, frame->height};
}

std::shared_ptr<const std::string> SnapshotCache::jpeg(const std::string& camera_id,
                                                       const LiveHub::Keyframe& k) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[camera_id];
  if (e.jpeg && e.seq == k.seq && e.info == k.info) return e.jpeg;
  auto img = std::make_shared<const std::string>(keyframe_to_jpeg(*k.info, *k.packet));
  e = Entry{k.seq, k.info, img};
  return img;
}

}  // namespace vigil
