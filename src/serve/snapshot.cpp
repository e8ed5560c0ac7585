#include "serve/snapshot.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include "core/error.h"
#include "ingest/media.h"

namespace vigil {
namespace {

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

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
  const AVCodec* mjpeg = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!mjpeg) throw Error(ErrorCode::kInternal, "snapshot: FFmpeg has no MJPEG encoder");
  CodecContextPtr enc(avcodec_alloc_context3(mjpeg));
  if (!enc) fail("encoder", AVERROR(ENOMEM));
  enc->width = frame->width;
  enc->height = frame->height;
  // Full-range 4:2:0, the JPEG norm; MJPEG wants it as yuvj420p.
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->time_base = AVRational{1, 25};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 3;  // qscale 3: visually close to the source
  int err = avcodec_open2(enc.get(), mjpeg, nullptr);
  if (err < 0) fail("open MJPEG encoder", err);

  FramePtr out(av_frame_alloc());
  out->width = frame->width;
  out->height = frame->height;
  out->format = AV_PIX_FMT_YUVJ420P;
  err = av_frame_get_buffer(out.get(), 0);
  if (err < 0) fail("frame buffer", err);
  std::unique_ptr<SwsContext, SwsDeleter> sws(sws_getContext(
      frame->width, frame->height, static_cast<AVPixelFormat>(frame->format), out->width,
      out->height, AV_PIX_FMT_YUVJ420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!sws) throw Error(ErrorCode::kInternal, "snapshot: no conversion to yuvj420p");
  sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, out->data, out->linesize);
  out->quality = enc->global_quality;
  out->pts = 0;

  err = avcodec_send_frame(enc.get(), out.get());
  if (err < 0) fail("encode JPEG", err);
  PacketPtr pkt(av_packet_alloc());
  err = avcodec_receive_packet(enc.get(), pkt.get());
  if (err < 0) fail("encode JPEG", err);
  return {std::string(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size)),
          frame->width, frame->height};
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
