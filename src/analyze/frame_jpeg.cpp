#include "analyze/frame_jpeg.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <memory>

#include "ingest/media.h"

namespace vigil {

namespace {

struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

// libjpeg's 1–100 quality against MJPEG's quantiser scale (2 best … 31 worst): 85 → 4, 95 → 2,
// 50 → 12, close to what libjpeg's tables give for the same sizes.
int quantiser_for(int quality) {
  const int q = std::clamp(quality, 1, 100);
  return std::clamp(static_cast<int>(std::lround((100 - q) * 0.25 + 0.25)), 2, 31);
}

}  // namespace

// FFmpeg's MJPEG encoder rather than OpenCV's imgcodecs: vigil already links libavcodec, and
// Debian's libopencv-imgcodecs pulls GDAL and its hundred libraries into every install (and,
// not being co-installable for two architectures, blocks the arm64 cross build).
std::vector<uint8_t> frame_to_jpeg(const AVFrame& picture, int max_width, int quality) {
  if (picture.width <= 0 || picture.height <= 0 || max_width <= 0) return {};
  const int w = std::max(2, std::min(max_width, picture.width));
  const int h = std::max(
      2, static_cast<int>(std::lround(static_cast<double>(picture.height) * w / picture.width)));
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) return {};
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  FramePtr yuv(av_frame_alloc());
  PacketPtr pkt = make_packet();
  if (!enc || !yuv || !pkt) return {};
  enc->width = w;
  enc->height = h;
  // Full-range 4:2:0, as JPEG (JFIF) defines it; the non-"J" format with the range set
  // avoids swscale's deprecated-format warning.
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = AVRational{1, 25};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * quantiser_for(quality);
  enc->thread_count = 1;
  if (avcodec_open2(enc.get(), codec, nullptr) < 0) return {};

  yuv->format = AV_PIX_FMT_YUV420P;
  yuv->width = w;
  yuv->height = h;
  yuv->color_range = AVCOL_RANGE_JPEG;
  yuv->quality = enc->global_quality;
  if (av_frame_get_buffer(yuv.get(), 0) < 0) return {};
  // Cameras send limited-range video (16–235) unless the stream says full range (or the decoder
  // gives a "J" format); JPEG is full range (0–255). The ranges are options of the context, set
  // before it is initialised: an unscaled copy path chosen at init would ignore them.
  const auto src_format = static_cast<AVPixelFormat>(picture.format);
  const bool src_full = picture.color_range == AVCOL_RANGE_JPEG ||
                        src_format == AV_PIX_FMT_YUVJ420P || src_format == AV_PIX_FMT_YUVJ422P ||
                        src_format == AV_PIX_FMT_YUVJ444P;
  std::unique_ptr<SwsContext, SwsFree> sws(sws_alloc_context());
  if (!sws) return {};
  av_opt_set_int(sws.get(), "srcw", picture.width, 0);
  av_opt_set_int(sws.get(), "srch", picture.height, 0);
  av_opt_set_int(sws.get(), "src_format", src_format, 0);
  av_opt_set_int(sws.get(), "src_range", src_full ? 1 : 0, 0);
  av_opt_set_int(sws.get(), "dstw", w, 0);
  av_opt_set_int(sws.get(), "dsth", h, 0);
  av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0);
  av_opt_set_int(sws.get(), "dst_range", 1, 0);
  av_opt_set_int(sws.get(), "sws_flags", SWS_BILINEAR, 0);
  if (sws_init_context(sws.get(), nullptr, nullptr) < 0) return {};
  sws_scale(sws.get(), picture.data, picture.linesize, 0, picture.height, yuv->data,
            yuv->linesize);

  if (avcodec_send_frame(enc.get(), yuv.get()) < 0) return {};
  if (avcodec_receive_packet(enc.get(), pkt.get()) < 0) return {};
  return std::vector<uint8_t>(pkt->data, pkt->data + pkt->size);
}

}  // namespace vigil
