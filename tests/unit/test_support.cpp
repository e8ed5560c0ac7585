#include "test_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>

extern "C" {
#include <libavformat/avformat.h>
}

namespace vigil::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("vigil-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

const DemuxedClip& test_clip(const std::string& codec, int seconds, int fps, int gop_frames) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<DemuxedClip>> cache;
  static TempDir dir;
  std::lock_guard lock(mu);
  const std::string key =
      codec + "-" + std::to_string(seconds) + "-" + std::to_string(fps) + "-" + std::to_string(gop_frames);
  if (auto it = cache.find(key); it != cache.end()) return *it->second;

  const auto file = dir.path() / (key + ".mkv");
  const std::string extra = codec == "libx265" ? "-x265-params log-level=error:keyint=" +
                                                     std::to_string(gop_frames) + ":min-keyint=" +
                                                     std::to_string(gop_frames) + ":scenecut=0:bframes=0"
                                               : "-bf 0 -sc_threshold 0";
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=" +
                          std::to_string(fps) + " -t " + std::to_string(seconds) + " -c:v " + codec +
                          " -preset ultrafast -g " + std::to_string(gop_frames) + " -keyint_min " +
                          std::to_string(gop_frames) + " " + extra + " -pix_fmt yuv420p " +
                          file.string();
  if (run(cmd) != 0) throw std::runtime_error("cannot make test clip: " + cmd);

  auto clip = std::make_unique<DemuxedClip>();
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, file.c_str(), nullptr, nullptr) < 0 ||
      avformat_find_stream_info(ctx, nullptr) < 0) {
    throw std::runtime_error("cannot demux " + file.string());
  }
  const AVStream* vs = ctx->streams[0];
  clip->info = std::make_shared<StreamInfo>();
  clip->info->video.reset(avcodec_parameters_alloc());
  avcodec_parameters_copy(clip->info->video.get(), vs->codecpar);
  clip->info->video_time_base = vs->time_base;
  for (;;) {
    PacketPtr p = make_packet();
    if (av_read_frame(ctx, p.get()) < 0) break;
    clip->video.push_back(std::move(p));
  }
  avformat_close_input(&ctx);
  return *cache.emplace(key, std::move(clip)).first->second;
}

bool read_test_clip(size_t& next, AVPacket* pkt, TrackKind& track) {
  const auto& v = test_clip().video;
  if (next >= v.size()) return false;
  av_packet_ref(pkt, v[next++].get());
  track = TrackKind::kVideo;
  return true;
}

Config two_camera_config(const std::filesystem::path& data_dir) {
  Config c;
  c.data_dir = data_dir;
  for (const char* id : {"front", "yard"}) {
    CameraConfig cam;
    cam.id = id;
    cam.name = id;
    c.cameras.push_back(cam);
  }
  return c;
}

std::filesystem::path write_two_camera_config(const std::filesystem::path& dir) {
  const auto file = dir / "vigil.toml";
  std::ofstream(file) << "data_dir = \"" << dir.string() << "\"\n"
                      << "[[camera]]\nid = \"front\"\nurl = \"rtsp://admin:pw@192.0.2.1/main\"\n"
                      << "[[camera]]\nid = \"yard\"\nurl = \"rtsp://192.0.2.2/main\"\n";
  return file;
}

}  // namespace vigil::test
