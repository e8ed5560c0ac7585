// frame_to_jpeg: the event snapshots' JPEG, decoded back with FFmpeg's own JPEG decoder to check
// size, aspect, range conversion and what the quality setting does.
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "analyze/frame_jpeg.h"
#include "ingest/media.h"

namespace vigil {
namespace {

// A limited-range 4:2:0 picture as a camera's decoder gives it: luma `left` in the left half,
// `right` in the right half, grey chroma, and fine noise so that quality changes the size.
FramePtr camera_picture(int width, int height, uint8_t left, uint8_t right) {
  FramePtr f(av_frame_alloc());
  f->format = AV_PIX_FMT_YUV420P;
  f->width = width;
  f->height = height;
  f->color_range = AVCOL_RANGE_MPEG;
  EXPECT_GE(av_frame_get_buffer(f.get(), 0), 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int base = x < width / 2 ? left : right;
      const int noise = ((x * 7 + y * 13) % 5) - 2;  // ±2, never crossing the halves' contrast
      f->data[0][y * f->linesize[0] + x] = static_cast<uint8_t>(base + noise);
    }
  }
  for (int p = 1; p < 3; ++p)
    for (int y = 0; y < height / 2; ++y)
      for (int x = 0; x < width / 2; ++x) f->data[p][y * f->linesize[p] + x] = 128;
  return f;
}

FramePtr decode_jpeg(const std::vector<uint8_t>& jpeg) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  EXPECT_EQ(avcodec_open2(dec.get(), codec, nullptr), 0);
  PacketPtr pkt = make_packet();
  std::vector<uint8_t> padded(jpeg);
  padded.resize(jpeg.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  pkt->data = padded.data();
  pkt->size = static_cast<int>(jpeg.size());
  FramePtr out(av_frame_alloc());
  EXPECT_EQ(avcodec_send_packet(dec.get(), pkt.get()), 0);
  EXPECT_EQ(avcodec_receive_frame(dec.get(), out.get()), 0);
  return out;
}

int luma_at(const AVFrame& f, int x, int y) { return f.data[0][y * f.linesize[0] + x]; }

TEST(FrameJpegTest, ScalesToTheWidthAskedKeepingTheAspect) {
  FramePtr picture = camera_picture(1280, 720, 60, 200);
  const std::vector<uint8_t> jpeg = frame_to_jpeg(*picture, 320, 85);
  ASSERT_GT(jpeg.size(), 100u);
  EXPECT_EQ(jpeg[0], 0xFF);  // SOI
  EXPECT_EQ(jpeg[1], 0xD8);
  EXPECT_EQ(jpeg[jpeg.size() - 2], 0xFF);  // EOI
  EXPECT_EQ(jpeg[jpeg.size() - 1], 0xD9);
  FramePtr back = decode_jpeg(jpeg);
  EXPECT_EQ(back->width, 320);
  EXPECT_EQ(back->height, 180);
  // Scaled and range-converted: (60 - 16) * 255 / 219 = 51, (200 - 16) * 255 / 219 = 214.
  EXPECT_NEAR(luma_at(*back, 40, 90), 51, 6);
  EXPECT_NEAR(luma_at(*back, 280, 90), 214, 6);
}

TEST(FrameJpegTest, NeverUpscalesASmallPicture) {
  FramePtr picture = camera_picture(352, 288, 60, 200);
  FramePtr back = decode_jpeg(frame_to_jpeg(*picture, 1280, 85));
  EXPECT_EQ(back->width, 352);
  EXPECT_EQ(back->height, 288);
}

TEST(FrameJpegTest, LimitedRangeBecomesFullRangeJpeg) {
  // Camera black (16) and white (235) are JPEG's 0 and 255; a viewer shows the snapshot as the
  // live picture looks, not washed out.
  FramePtr picture = camera_picture(640, 360, 16 + 2, 235 - 2);
  FramePtr back = decode_jpeg(frame_to_jpeg(*picture, 640, 95));
  ASSERT_EQ(back->width, 640);
  EXPECT_TRUE(back->format == AV_PIX_FMT_YUVJ420P || back->color_range == AVCOL_RANGE_JPEG)
      << "format " << back->format << " range " << back->color_range;
  EXPECT_NEAR(luma_at(*back, 100, 180), 0, 6);
  EXPECT_NEAR(luma_at(*back, 540, 180), 255, 6);
}

TEST(FrameJpegTest, LowerQualityMakesASmallerFile) {
  FramePtr picture = camera_picture(640, 360, 90, 170);
  const std::vector<uint8_t> best = frame_to_jpeg(*picture, 640, 95);
  const std::vector<uint8_t> usual = frame_to_jpeg(*picture, 640, 85);
  const std::vector<uint8_t> poor = frame_to_jpeg(*picture, 640, 30);
  EXPECT_GT(best.size(), usual.size());
  EXPECT_GT(usual.size(), poor.size());
}

TEST(FrameJpegTest, EmptyForAPictureWithoutSize) {
  FramePtr empty(av_frame_alloc());
  EXPECT_TRUE(frame_to_jpeg(*empty, 640, 85).empty());
}

}  // namespace
}  // namespace vigil
