// G.711 to AAC on ingest: a real tone through FFmpeg's G.711 encoder, the transcoder, and
// FFmpeg's AAC decoder back (the tone is still there, on the same time line); and the source
// wrapper, whose video passes untouched and whose audio turns off, naming the camera, when AAC
// cannot be made.
#include "ingest/audio_transcoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "core/error.h"
#include "test_support.h"

namespace vigil {
namespace {

constexpr int kRate = 8000;
constexpr int kPacketSamples = 160;  // 20 ms, what cameras send

CodecParametersPtr g711_params(AVCodecID id, int rate) {
  CodecParametersPtr p(avcodec_parameters_alloc());
  p->codec_type = AVMEDIA_TYPE_AUDIO;
  p->codec_id = id;
  p->sample_rate = rate;
  p->bits_per_coded_sample = 8;
  av_channel_layout_default(&p->ch_layout, 1);
  return p;
}

// `seconds` of a 440 Hz tone (amplitude 0.5) as G.711 packets of 20 ms, pts in 1/rate from
// `first_pts`.
std::vector<PacketPtr> g711_tone(AVCodecID id, double seconds, int64_t first_pts) {
  const AVCodec* codec = avcodec_find_encoder(id);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->sample_rate = kRate;
  ctx->sample_fmt = AV_SAMPLE_FMT_S16;
  av_channel_layout_default(&ctx->ch_layout, 1);
  ctx->time_base = {1, kRate};
  EXPECT_EQ(avcodec_open2(ctx, codec, nullptr), 0);
  std::vector<PacketPtr> out;
  AVFrame* frame = av_frame_alloc();
  frame->nb_samples = kPacketSamples;
  frame->format = AV_SAMPLE_FMT_S16;
  av_channel_layout_default(&frame->ch_layout, 1);
  EXPECT_EQ(av_frame_get_buffer(frame, 0), 0);
  for (int64_t n = 0; n < static_cast<int64_t>(seconds * kRate); n += kPacketSamples) {
    auto* s = reinterpret_cast<int16_t*>(frame->data[0]);
    for (int i = 0; i < kPacketSamples; ++i) {
      s[i] = static_cast<int16_t>(16384 * std::sin(2 * M_PI * 440 * (n + i) / kRate));
    }
    frame->pts = first_pts + n;
    EXPECT_EQ(avcodec_send_frame(ctx, frame), 0);
    PacketPtr pkt = make_packet();
    while (avcodec_receive_packet(ctx, pkt.get()) == 0) {
      out.push_back(std::move(pkt));
      pkt = make_packet();
    }
  }
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return out;
}

// The RMS of AAC packets decoded back, and how many samples they held.
std::pair<double, int64_t> decode_aac(const AVCodecParameters& par,
                                      const std::vector<PacketPtr>& packets) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(ctx, &par);
  EXPECT_EQ(avcodec_open2(ctx, codec, nullptr), 0);
  AVFrame* frame = av_frame_alloc();
  double sum = 0;
  int64_t samples = 0;
  for (const auto& p : packets) {
    EXPECT_EQ(avcodec_send_packet(ctx, p.get()), 0);
    while (avcodec_receive_frame(ctx, frame) == 0) {
      const auto* x = reinterpret_cast<const float*>(frame->data[0]);  // fltp
      for (int i = 0; i < frame->nb_samples; ++i) sum += double{x[i]} * x[i];
      samples += frame->nb_samples;
    }
  }
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return {samples ? std::sqrt(sum / static_cast<double>(samples)) : 0.0, samples};
}

TEST(AudioTranscoder, PcmuToneComesOutAsAacOnTheSameTimeLine) {
  const auto in = g711_params(AV_CODEC_ID_PCM_MULAW, kRate);
  AudioTranscoder t("front", *in, AVRational{1, kRate});
  EXPECT_EQ(t.output().codec_id, AV_CODEC_ID_AAC);
  EXPECT_EQ(t.output().sample_rate, kRate);
  EXPECT_GT(t.output().extradata_size, 0);  // the AudioSpecificConfig, for the MP4 sample entry
  EXPECT_EQ(t.time_base().den, kRate);
  std::vector<PacketPtr> aac;
  const int64_t start = 12345;
  for (const auto& p : g711_tone(AV_CODEC_ID_PCM_MULAW, 4.0, start)) t.push(*p, aac);
  // 4 s = 31.25 frames of 1024 samples; the encoder holds back a frame or two.
  ASSERT_GE(aac.size(), 28u);
  ASSERT_LE(aac.size(), 32u);
  // The encoder's priming frame starts one frame before the first sample.
  EXPECT_EQ(aac.front()->pts, start - 1024);
  size_t bytes = 0;
  for (size_t i = 1; i < aac.size(); ++i) {
    EXPECT_EQ(aac[i]->pts, aac[i - 1]->pts + 1024) << i;
    bytes += static_cast<size_t>(aac[i]->size);
  }
  // A few hundred bytes per 128 ms packet (24 kbit/s).
  const double mean = static_cast<double>(bytes) / static_cast<double>(aac.size() - 1);
  EXPECT_GT(mean, 100);
  EXPECT_LT(mean, 800);
  // The tone survives: a 0.5 sine has an RMS of 0.354 (G.711 and AAC are lossy).
  const auto [rms, samples] = decode_aac(t.output(), aac);
  EXPECT_EQ(samples, static_cast<int64_t>(aac.size()) * 1024);
  EXPECT_NEAR(rms, 0.354, 0.06);
}

TEST(AudioTranscoder, ACameraClockJumpRestartsTimingInsteadOfStretchingIt) {
  const auto in = g711_params(AV_CODEC_ID_PCM_ALAW, kRate);
  AudioTranscoder t("front", *in, AVRational{1, kRate});
  std::vector<PacketPtr> aac;
  for (const auto& p : g711_tone(AV_CODEC_ID_PCM_ALAW, 1.0, 0)) t.push(*p, aac);
  const int64_t before_jump = aac.back()->pts;
  aac.clear();
  // Two seconds of nothing (lost packets), then audio again.
  for (const auto& p : g711_tone(AV_CODEC_ID_PCM_ALAW, 1.0, 3 * kRate)) t.push(*p, aac);
  ASSERT_FALSE(aac.empty());
  EXPECT_LT(before_jump, kRate);
  // Encoded after the gap: timed from the new samples, not from the old count.
  EXPECT_GE(aac.back()->pts, 3 * kRate);
}

TEST(AudioTranscoder, RefusesWhatAacCannotCarryNamingTheCamera) {
  const auto odd = g711_params(AV_CODEC_ID_PCM_MULAW, 7000);  // no AAC sampling frequency index
  try {
    AudioTranscoder t("yard", *odd, AVRational{1, 7000});
    FAIL() << "an encoder at 7000 Hz opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("camera yard"), std::string::npos) << e.what();
  }
}

// A camera: the test clip's first video frames, interleaved with 20 ms G.711 packets.
class G711Camera final : public MediaSource {
 public:
  G711Camera(AVCodecID id, int rate) : clip_(test::test_clip()), audio_(g711_params(id, rate)) {
    for (auto& p : g711_tone(id, 2.0, 0)) audio_packets_.push_back(std::move(p));
  }
  std::shared_ptr<const StreamInfo> open() override {
    auto info = std::make_shared<StreamInfo>();
    info->video.reset(avcodec_parameters_alloc());
    avcodec_parameters_copy(info->video.get(), clip_.info->video.get());
    info->video_time_base = clip_.info->video_time_base;
    info->audio.reset(avcodec_parameters_alloc());
    avcodec_parameters_copy(info->audio.get(), audio_.get());
    info->audio_time_base = {1, audio_->sample_rate};
    return info;
  }
  bool read(AVPacket* pkt, TrackKind& track) override {
    const bool video_left = next_video_ < 20;
    const bool audio_left = !audio_packets_.empty();
    if (!video_left && !audio_left) return false;
    const auto ms = [](const AVPacket* p, AVRational tb) {
      return av_rescale_q(p->pts, tb, AVRational{1, 1000});
    };
    const bool video_first =
        video_left && (!audio_left || ms(clip_.video[next_video_].get(), clip_.info->video_time_base) <=
                                          ms(audio_packets_.front().get(), {1, audio_->sample_rate}));
    if (video_first) {
      av_packet_ref(pkt, clip_.video[next_video_++].get());
      track = TrackKind::kVideo;
    } else {
      av_packet_move_ref(pkt, audio_packets_.front().get());
      audio_packets_.pop_front();
      track = TrackKind::kAudio;
    }
    return true;
  }
  void interrupt() override {}

 private:
  const test::DemuxedClip& clip_;
  CodecParametersPtr audio_;
  std::deque<PacketPtr> audio_packets_;
  size_t next_video_ = 0;
};

TEST(TranscodingSource, GivesAacAudioAndUntouchedVideo) {
  TranscodingSource src("front", std::make_unique<G711Camera>(AV_CODEC_ID_PCM_ALAW, kRate));
  const auto info = src.open();
  ASSERT_TRUE(info->audio);
  EXPECT_EQ(info->audio->codec_id, AV_CODEC_ID_AAC);
  EXPECT_EQ(info->audio_time_base.den, kRate);
  EXPECT_EQ(info->video->codec_id, AV_CODEC_ID_H264);
  const auto& clip = test::test_clip();
  PacketPtr pkt = make_packet();
  TrackKind track;
  size_t video = 0, audio = 0;
  while (src.read(pkt.get(), track)) {
    if (track == TrackKind::kVideo) {
      ASSERT_LT(video, clip.video.size());
      EXPECT_EQ(pkt->pts, clip.video[video]->pts);
      EXPECT_EQ(pkt->size, clip.video[video]->size);
      ++video;
    } else {
      EXPECT_GT(pkt->size, 0);
      ++audio;
    }
    av_packet_unref(pkt.get());
  }
  EXPECT_EQ(video, 20u);
  EXPECT_GE(audio, 13u);  // 2 s of 128 ms frames, less what the encoder holds back
}

TEST(TranscodingSource, AudioTheEncoderCannotTakeIsOffAndVideoGoesOn) {
  TranscodingSource src("yard", std::make_unique<G711Camera>(AV_CODEC_ID_PCM_MULAW, 7000));
  const auto info = src.open();
  EXPECT_FALSE(info->audio);
  EXPECT_NE(info->audio_skipped.find("pcm_mulaw audio is not recorded: camera yard"),
            std::string::npos)
      << info->audio_skipped;
  PacketPtr pkt = make_packet();
  TrackKind track;
  size_t video = 0;
  while (src.read(pkt.get(), track)) {
    EXPECT_EQ(track, TrackKind::kVideo);
    ++video;
    av_packet_unref(pkt.get());
  }
  EXPECT_EQ(video, 20u);
}

}  // namespace
}  // namespace vigil
