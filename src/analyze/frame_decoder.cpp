#include "analyze/frame_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <opencv2/imgproc.hpp>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "ingest/media.h"

namespace vigil {
namespace {

// Pixel formats whose first plane is 8-bit luma at full resolution: the grey picture as is.
bool luma_first_plane(int format) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format));
  if (!d) return false;
  if (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BE)) return false;
  return d->nb_components >= 1 && d->comp[0].plane == 0 && d->comp[0].depth == 8 &&
         d->comp[0].step == 1;
}

}  // namespace

FrameDecoder::FrameDecoder(std::string camera_id, FrameDecoderOptions options)
    : camera_id_(std::move(camera_id)), options_(options) {}

FrameDecoder::~FrameDecoder() {
  avcodec_free_context(&ctx_);
  sws_freeContext(sws_);
}

void FrameDecoder::open(const StreamInfo& info) {
  avcodec_free_context(&ctx_);
  const AVCodec* codec = avcodec_find_decoder(info.video->codec_id);
  const std::string where = "camera " + camera_id_ + ": analysis decoder";
  if (!codec) throw Error(ErrorCode::kFailedPrecondition, where + ": no decoder for " +
                                                             info.video_codec_name());
  ctx_ = avcodec_alloc_context3(codec);
  if (!ctx_) throw Error(ErrorCode::kResourceExhausted, where + ": out of memory");
  int err = avcodec_parameters_to_context(ctx_, info.video.get());
  if (err < 0) {
    avcodec_free_context(&ctx_);
    throw Error(ErrorCode::kInternal, where + ": parameters: " + av_error_text(err));
  }
  ctx_->pkt_timebase = info.video_time_base;
  ctx_->thread_count = 1;
  // Nothing refers to a non-reference frame: skipping it loses nothing for the frames after
  // it. Most cameras mark none, B-frame encoders mark many.
  ctx_->skip_frame = AVDISCARD_NONREF;
  ctx_->skip_loop_filter = options_.skip_deblocking ? AVDISCARD_ALL : AVDISCARD_NONREF;
  // A frame out as soon as it is decoded: analysis wants the newest picture, not display order.
  ctx_->flags |= AV_CODEC_FLAG_LOW_DELAY;
  err = avcodec_open2(ctx_, codec, nullptr);
  if (err < 0) {
    avcodec_free_context(&ctx_);
    throw Error(ErrorCode::kInternal, where + ": open " + codec->name + ": " + av_error_text(err));
  }
}

void FrameDecoder::reset() {
  if (ctx_) avcodec_flush_buffers(ctx_);
}

bool FrameDecoder::decode(const AVPacket& pkt, std::vector<DecodedFrame>& out) {
  if (!ctx_) return false;
  int err = avcodec_send_packet(ctx_, &pkt);
  if (err < 0 && err != AVERROR(EAGAIN)) return false;
  for (;;) {
    AVFrame* f = av_frame_alloc();
    if (!f) return false;
    err = avcodec_receive_frame(ctx_, f);
    if (err < 0) {
      av_frame_free(&f);
      break;
    }
    ++frames_decoded_;
    DecodedFrame d;
    d.pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (d.pts == AV_NOPTS_VALUE) d.pts = pkt.pts != AV_NOPTS_VALUE ? pkt.pts : pkt.dts;
    d.picture = std::shared_ptr<const AVFrame>(f, [](const AVFrame* p) {
      auto* m = const_cast<AVFrame*>(p);
      av_frame_free(&m);
    });
    out.push_back(std::move(d));
  }
  return err == AVERROR(EAGAIN) || err == AVERROR_EOF || err >= 0;
}

cv::Mat FrameDecoder::grey(const AVFrame& f) {
  if (f.width <= 0 || f.height <= 0) return {};
  const int w = std::min(options_.analysis_width, f.width);
  // Even height keeps 4:2:0 consumers happy; aspect kept.
  const int h = std::max(2, static_cast<int>(std::lround(static_cast<double>(f.height) * w /
                                                          f.width / 2.0)) * 2);
  cv::Mat out;
  if (luma_first_plane(f.format)) {
    const cv::Mat luma(f.height, f.width, CV_8U, f.data[0], static_cast<size_t>(f.linesize[0]));
    cv::resize(luma, out, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    return out;
  }
  sws_ = sws_getCachedContext(sws_, f.width, f.height, static_cast<AVPixelFormat>(f.format), w,
                              h, AV_PIX_FMT_GRAY8, SWS_AREA, nullptr, nullptr, nullptr);
  if (!sws_) {
    spdlog::warn("camera {}: analysis: cannot convert {} to grey", camera_id_,
                 av_get_pix_fmt_name(static_cast<AVPixelFormat>(f.format)));
    return {};
  }
  out.create(h, w, CV_8U);
  uint8_t* dst[4] = {out.data, nullptr, nullptr, nullptr};
  int dst_stride[4] = {static_cast<int>(out.step), 0, 0, 0};
  sws_scale(sws_, f.data, f.linesize, 0, f.height, dst, dst_stride);
  return out;
}

}  // namespace vigil
