// The live hub: each viewer's bounded queue (skip to the next keyframe, drop a viewer that never
// reads) with plain strings, and the hub itself remuxing a real H.264 clip into fMP4 fragments,
// snapshots decoded from its keyframes, and the Prometheus text of its counters.
#include "serve/live_hub.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "serve/metrics.h"
#include "serve/snapshot.h"
#include "test_support.h"

namespace vigil {
namespace {

using Chunks = http::BodyStream::Chunks;

std::shared_ptr<const std::string> bytes(const std::string& s) {
  return std::make_shared<const std::string>(s);
}

// Pulls once; returns what `ready` got, or nullopt when the pull stays pending.
std::optional<std::vector<std::string>> pull_now(LiveViewer& v) {
  std::optional<std::vector<std::string>> got;
  v.pull([&](Chunks c) {
    got.emplace();
    for (const auto& x : c) got->push_back(*x);
  });
  return got;
}

TEST(LiveViewer, FirstPullGetsInitThenQueuedFragmentsInOrder) {
  LiveViewer v(bytes("init"), 100, 3);
  v.push(bytes("k1"), true);
  v.push(bytes("p1"), false);
  auto got = pull_now(v);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"init", "k1", "p1"}));
  // Nothing queued: the pull waits and the next push answers it at once.
  std::vector<std::string> later;
  v.pull([&](Chunks c) {
    for (const auto& x : c) later.push_back(*x);
  });
  EXPECT_TRUE(later.empty());
  v.push(bytes("p2"), false);
  EXPECT_EQ(later, (std::vector<std::string>{"p2"}));
}

TEST(LiveViewer, OverflowEmptiesQueueKeepsInitAndResumesAtNextKeyframe) {
  LiveViewer v(bytes("init"), 10, 3);  // room for five 2-byte fragments
  v.push(bytes("k1"), true);
  for (int i = 0; i < 4; ++i) v.push(bytes("p" + std::to_string(i)), false);
  EXPECT_EQ(v.push(bytes("px"), false), LiveViewer::Pushed::kSkipped);
  // Until a keyframe, nothing more is queued: those frames could not be decoded anyway.
  v.push(bytes("py"), false);
  v.push(bytes("k2"), true);
  v.push(bytes("q1"), false);
  auto got = pull_now(v);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"init", "k2", "q1"}));
  const auto c = v.counters();
  EXPECT_EQ(c.skips, 1);
  EXPECT_EQ(c.fragments_skipped, 7);  // k1, p0..p3, px, py
  EXPECT_FALSE(c.dropped);
}

TEST(LiveViewer, OverflowOnAKeyframeKeepsThatKeyframe) {
  LiveViewer v(bytes("i"), 4, 3);
  v.push(bytes("k1"), true);
  v.push(bytes("p1"), false);
  EXPECT_EQ(v.push(bytes("k2"), true), LiveViewer::Pushed::kSkipped);
  auto got = pull_now(v);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"i", "k2"}));
}

TEST(LiveViewer, SlowReaderIsSkippedButKeptWhileItReads) {
  LiveViewer v(bytes("i"), 4, 2);
  for (int round = 0; round < 5; ++round) {
    v.push(bytes("k" + std::to_string(round)), true);
    v.push(bytes("pp"), false);
    v.push(bytes("k" + std::to_string(round)), true);  // overflows: skip
    ASSERT_TRUE(pull_now(v));  // it reads, a little: the overflow count starts again
  }
  EXPECT_FALSE(v.ended());
  EXPECT_EQ(v.counters().skips, 5);
  EXPECT_FALSE(v.counters().dropped);
}

TEST(LiveViewer, ViewerThatNeverReadsIsDroppedAndMemoryStaysBounded) {
  LiveViewer v(bytes("i"), 6, 3);
  LiveViewer::Pushed last = LiveViewer::Pushed::kQueued;
  int pushes = 0;
  while (last != LiveViewer::Pushed::kDropped && pushes < 1000) {
    last = v.push(bytes("kk"), pushes % 4 == 0);
    ++pushes;
  }
  EXPECT_EQ(last, LiveViewer::Pushed::kDropped);
  EXPECT_LT(pushes, 20);
  EXPECT_TRUE(v.ended());
  EXPECT_TRUE(v.counters().dropped);
  EXPECT_EQ(v.push(bytes("kk"), true), LiveViewer::Pushed::kEnded);
  auto got = pull_now(v);  // a dropped viewer gets the end, not stale bytes
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

TEST(LiveViewer, EndDeliversQueueThenEndAndCloseRunsHookOnce) {
  LiveViewer v(bytes("i"), 100, 3);
  int closes = 0;
  v.on_close([&] { ++closes; });
  v.push(bytes("k"), true);
  v.end();
  auto got = pull_now(v);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::vector<std::string>{"i", "k"}));
  got = pull_now(v);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  v.close();
  v.close();
  EXPECT_EQ(closes, 1);
}

TEST(LiveViewer, EndAnswersAPendingPull) {
  LiveViewer v(bytes("i"), 100, 3);
  ASSERT_TRUE(pull_now(v));  // takes the init segment
  bool ended = false;
  v.pull([&](Chunks c) { ended = c.empty(); });
  EXPECT_FALSE(ended);
  v.end();
  EXPECT_TRUE(ended);
}

class LiveHubClip : public ::testing::Test {
 protected:
  const test::DemuxedClip& clip_ = test::test_clip("libx264", 10, 10, 20);
  WallTime now_ = wall_from_ms(1'700'000'000'000);

  void feed(LiveHub& hub, size_t from, size_t to) {
    for (size_t i = from; i < to && i < clip_.video.size(); ++i) {
      hub.on_packet(MediaPacket{clip_.video[i].get(), TrackKind::kVideo, now_});
    }
  }
};

TEST_F(LiveHubClip, NewViewerStartsAtLatestKeyframeWithInitSegment) {
  LiveHub hub("cam1");
  EXPECT_FALSE(hub.attach());  // not streaming
  hub.on_stream_start(clip_.info, now_);
  feed(hub, 0, 25);  // keyframes at 0 and 20: the current GOP is frames 20..24
  auto a = hub.attach();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mime.rfind("video/mp4; codecs=\"avc1.", 0), 0u) << a->mime;
  auto got = pull_now(*a->viewer);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u + 5u);
  EXPECT_EQ(got->at(0).substr(4, 4), "ftyp");  // the init segment: ftyp + moov
  EXPECT_NE(got->at(0).find("moov"), std::string::npos);
  for (size_t i = 1; i < got->size(); ++i) {
    // One fragment per frame, after a prft box with the wall time it was written.
    EXPECT_EQ(got->at(i).substr(4, 4), "prft") << i;
    EXPECT_NE(got->at(i).find("moof"), std::string::npos);
    EXPECT_NE(got->at(i).find("mdat"), std::string::npos);
  }
  feed(hub, 25, 27);
  got = pull_now(*a->viewer);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 2u);
  EXPECT_EQ(hub.stats().viewers, 1);
  // Nothing was remuxed before the viewer came: only the cached GOP (5) and the 2 frames since.
  EXPECT_EQ(hub.stats().fragments_total, 7);

  // The stream ends: every viewer gets the end and the hub refuses new viewers until the next.
  hub.on_stream_end("test", now_);
  got = pull_now(*a->viewer);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  EXPECT_FALSE(hub.attach());
  EXPECT_EQ(hub.stats().viewers, 0);
}

TEST_F(LiveHubClip, CapturedStreamIsPlayableFragmentedMp4) {
  test::TempDir dir;
  LiveHub hub("cam1");
  hub.on_stream_start(clip_.info, now_);
  feed(hub, 0, 3);
  auto a = hub.attach();
  ASSERT_TRUE(a);
  feed(hub, 3, clip_.video.size());
  hub.on_stream_end("clip over", now_);
  std::string all;
  for (;;) {
    auto got = pull_now(*a->viewer);
    ASSERT_TRUE(got);  // ended: never pending
    if (got->empty()) break;
    for (const auto& c : *got) all += c;
  }
  const auto file = dir.path() / "live.mp4";
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(all.data(), 1, all.size(), f);
    std::fclose(f);
  }
  // Keyframe 0 was the current GOP at attach, so every frame of the clip is in the stream.
  const auto out = dir.path() / "frames.txt";
  ASSERT_EQ(test::run("ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                      "stream=nb_read_frames,width,height -of csv=p=0 " +
                      file.string() + " > " + out.string()),
            0);
  std::FILE* f = std::fopen(out.c_str(), "r");
  ASSERT_TRUE(f);
  char line[128] = {};
  ASSERT_TRUE(std::fgets(line, sizeof line, f));
  std::fclose(f);
  EXPECT_EQ(std::string(line), "320,240," + std::to_string(clip_.video.size()) + "\n");
}

// AAC frames from FFmpeg's encoder (1 s of a tone, 16 kHz mono), as a camera would send them.
struct AacTrack {
  CodecParametersPtr params{avcodec_parameters_alloc()};
  AVRational time_base{1, 16000};
  std::vector<PacketPtr> packets;
};

AacTrack encode_aac(double seconds) {
  AacTrack t;
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->sample_rate = 16000;
  ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&ctx->ch_layout, 1);
  ctx->bit_rate = 32000;
  ctx->time_base = t.time_base;
  ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  EXPECT_EQ(avcodec_open2(ctx, codec, nullptr), 0);
  avcodec_parameters_from_context(t.params.get(), ctx);
  AVFrame* frame = av_frame_alloc();
  frame->nb_samples = ctx->frame_size;
  frame->format = ctx->sample_fmt;
  av_channel_layout_copy(&frame->ch_layout, &ctx->ch_layout);
  frame->sample_rate = ctx->sample_rate;
  EXPECT_EQ(av_frame_get_buffer(frame, 0), 0);
  int64_t pts = 0;
  auto drain = [&] {
    for (PacketPtr pkt = make_packet(); avcodec_receive_packet(ctx, pkt.get()) == 0;
         pkt = make_packet()) {
      t.packets.push_back(std::move(pkt));
    }
  };
  while (pts < static_cast<int64_t>(seconds * 16000)) {
    auto* x = reinterpret_cast<float*>(frame->data[0]);
    for (int i = 0; i < frame->nb_samples; ++i) x[i] = 0.3f * std::sin(0.2f * (pts + i));
    frame->pts = pts;
    pts += frame->nb_samples;
    EXPECT_EQ(avcodec_send_frame(ctx, frame), 0);
    drain();
  }
  avcodec_send_frame(ctx, nullptr);
  drain();
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return t;
}

TEST_F(LiveHubClip, AacAudioIsASecondTrackOfTheSameFragments) {
  test::TempDir dir;
  const AacTrack aac = encode_aac(2.0);
  auto info = std::make_shared<StreamInfo>();
  info->video.reset(avcodec_parameters_alloc());
  avcodec_parameters_copy(info->video.get(), clip_.info->video.get());
  info->video_time_base = clip_.info->video_time_base;
  info->audio.reset(avcodec_parameters_alloc());
  avcodec_parameters_copy(info->audio.get(), aac.params.get());
  info->audio_time_base = aac.time_base;
  LiveHub hub("cam1");
  hub.on_stream_start(info, now_);
  auto a = hub.attach();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mime.rfind("video/mp4; codecs=\"avc1.", 0), 0u) << a->mime;
  EXPECT_NE(a->mime.find(",mp4a.40.2\""), std::string::npos) << a->mime;
  // 2 s of both, interleaved by time as ingest delivers them.
  size_t ai = 0;
  for (size_t vi = 0; vi < 20; ++vi) {
    const AVPacket* v = clip_.video[vi].get();
    const int64_t vt = av_rescale_q(v->dts, clip_.info->video_time_base, AVRational{1, 1000});
    for (; ai < aac.packets.size() &&
           av_rescale_q(aac.packets[ai]->pts, aac.time_base, AVRational{1, 1000}) <= vt;
         ++ai) {
      hub.on_packet(MediaPacket{aac.packets[ai].get(), TrackKind::kAudio, now_});
    }
    hub.on_packet(MediaPacket{v, TrackKind::kVideo, now_});
  }
  hub.on_stream_end("clip over", now_);
  std::string all;
  for (;;) {
    auto got = pull_now(*a->viewer);
    ASSERT_TRUE(got);
    if (got->empty()) break;
    for (const auto& c : *got) all += c;
  }
  EXPECT_EQ(hub.stats().fragments_total, 20);  // one per video frame: audio rides along
  const auto file = dir.path() / "live.mp4";
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(all.data(), 1, all.size(), f);
    std::fclose(f);
  }
  const auto out = dir.path() / "streams.txt";
  ASSERT_EQ(test::run("ffprobe -v error -count_frames -show_entries "
                      "stream=codec_name,nb_read_frames -of csv=p=0 " +
                      file.string() + " > " + out.string()),
            0);
  std::ifstream in(out);
  std::string video_line, audio_line;
  std::getline(in, video_line);
  std::getline(in, audio_line);
  EXPECT_EQ(video_line, "h264,20");
  // The audio up to the last video frame (1.9 s of 2 s at 64 ms a frame), less the encoder's
  // priming frame sent before the first picture.
  ASSERT_EQ(audio_line.rfind("aac,", 0), 0u) << audio_line;
  EXPECT_GE(std::stoi(audio_line.substr(4)), 25) << audio_line;
}

TEST_F(LiveHubClip, SnapshotIsAJpegOfTheCameraSizeDecodedOncePerKeyframe) {
  LiveHub hub("cam1");
  EXPECT_FALSE(hub.latest_keyframe());
  hub.on_stream_start(clip_.info, now_);
  feed(hub, 0, 5);
  auto k = hub.latest_keyframe();
  ASSERT_TRUE(k);
  SnapshotCache cache;
  auto jpeg = cache.jpeg("cam1", *k);
  ASSERT_GT(jpeg->size(), 100u);
  EXPECT_EQ(static_cast<unsigned char>((*jpeg)[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>((*jpeg)[1]), 0xD8);    // SOI
  EXPECT_EQ(static_cast<unsigned char>(jpeg->back()), 0xD9);  // EOI
  feed(hub, 5, 10);  // no new keyframe: the same image object
  EXPECT_EQ(cache.jpeg("cam1", *hub.latest_keyframe()), jpeg);
  feed(hub, 10, 21);  // keyframe 20
  auto k2 = hub.latest_keyframe();
  EXPECT_NE(k2->seq, k->seq);
  EXPECT_NE(cache.jpeg("cam1", *k2), jpeg);
}

TEST(LiveMime, AvcProfileLevelFromInitSegment) {
  std::string init = std::string("....ftypisom") + "....avcC" + std::string("\x01\x64\x00\x1f", 4);
  EXPECT_EQ(mse_mime_type(init), "video/mp4; codecs=\"avc1.64001f\"");
  EXPECT_EQ(mse_mime_type("no sample entry"), "");
  CodecParametersPtr aac(avcodec_parameters_alloc());
  aac->codec_id = AV_CODEC_ID_AAC;
  const uint8_t he_aac[2] = {0x28, 0x08};  // audio object type 5
  aac->extradata = static_cast<uint8_t*>(av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE));
  std::memcpy(aac->extradata, he_aac, 2);
  aac->extradata_size = 2;
  EXPECT_EQ(mse_mime_type(init, aac.get()), "video/mp4; codecs=\"avc1.64001f,mp4a.40.5\"");
}

TEST(Metrics, PrometheusTextHasEveryCameraAndLiveSeries) {
  const nlohmann::json status = {{"cameras",
                                  {{{"id", "front"},
                                    {"state", "streaming"},
                                    {"fps", 25.0},
                                    {"bitrate_bps", 4e6},
                                    {"reconnects", 2},
                                    {"bytes_written", 12345},
                                    {"stored_bytes", 999}}}},
                                 {"disk_free_bytes", 5e9}};
  LiveStats s;
  s.viewers = 3;
  s.skips_total = 4;
  const std::string text = prometheus_metrics(status, {{"front", s}});
  for (const char* line :
       {"vigil_camera_fps{camera=\"front\"} 25\n",
        "vigil_camera_bitrate_bits_per_second{camera=\"front\"} 4000000\n",
        "vigil_camera_reconnects_total{camera=\"front\"} 2\n",
        "vigil_camera_bytes_written_total{camera=\"front\"} 12345\n",
        "vigil_camera_state{camera=\"front\",state=\"streaming\"} 1\n",
        "vigil_camera_state{camera=\"front\",state=\"offline\"} 0\n",
        "vigil_live_viewers{camera=\"front\"} 3\n", "vigil_live_skips_total{camera=\"front\"} 4\n",
        "vigil_disk_free_bytes 5000000000\n", "# TYPE vigil_camera_reconnects_total counter\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

}  // namespace
}  // namespace vigil
