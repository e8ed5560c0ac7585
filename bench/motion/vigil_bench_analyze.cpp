// bench/motion's driver: one camera read through vigil's real ingest (CameraWorker, the native
// RTSP client) into a CameraAnalyzer, for a given time; prints one line per change of what is
// detected ("<wall ms> <type> on|off") and, at the end, the analyzer's counters. Used by
// bench/motion/run.py to measure CPU per camera and to compare detections with Motion's.
//
//   vigil_bench_analyze URL SECONDS [--sub] [--decode auto|all|adaptive] [--no-sampling]
//   (--no-sampling: decode every frame while motion lasts, as before sustained motion was sampled)
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "analyze/camera_analyzer.h"
#include "ingest/camera_worker.h"

namespace {

// Prints level changes per detection type (the events stage's hysteresis is not applied: the
// bench compares raw detection intervals).
class PrintingSink final : public vigil::AnalysisSink {
 public:
  void on_analysis(const vigil::AnalysisResult& r) override {
    std::lock_guard lock(mu_);
    if (!started_) {
      // The first analysed frame (the stream's first keyframe): where clip time 0 is.
      std::printf("%lld start\n", static_cast<long long>(vigil::ms_since_epoch(r.at)));
      started_ = true;
    }
    std::map<vigil::DetectionType, bool> now;
    for (const auto& d : r.detections) now[d.type] = true;
    for (auto t : {vigil::DetectionType::kMotion, vigil::DetectionType::kCovered,
                   vigil::DetectionType::kDefocused, vigil::DetectionType::kMoved,
                   vigil::DetectionType::kSignalLost}) {
      const bool on = now.count(t) > 0;
      if (on != state_[t]) {
        std::printf("%lld %s %s\n", static_cast<long long>(vigil::ms_since_epoch(r.at)),
                    std::string(vigil::detection_type_name(t)).c_str(), on ? "on" : "off");
        std::fflush(stdout);
        state_[t] = on;
      }
    }
  }

 private:
  std::mutex mu_;
  std::map<vigil::DetectionType, bool> state_;
  bool started_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s URL SECONDS [--sub] [--decode auto|all|adaptive] [--no-sampling]\n", argv[0]);
    return 1;
  }
  spdlog::set_level(spdlog::level::warn);
  vigil::CameraConfig cam;
  cam.id = "bench";
  cam.url = argv[1];
  const int seconds = std::atoi(argv[2]);
  bool sub = false;
  vigil::AnalysisSettings settings;
  vigil::CameraAnalyzerOptions options;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--sub")) {
      sub = true;
    } else if (!std::strcmp(argv[i], "--no-sampling")) {
      options.selector.sample_sustained = false;
    } else if (!std::strcmp(argv[i], "--decode") && i + 1 < argc) {
      const std::string d = argv[++i];
      settings.decode = d == "all"        ? vigil::AnalysisDecode::kAll
                        : d == "adaptive" ? vigil::AnalysisDecode::kAdaptive
                                          : vigil::AnalysisDecode::kAuto;
    }
  }
  vigil::SystemClock clock;
  vigil::IngestSettings ingest;
  PrintingSink sink;
  vigil::CameraAnalyzer analyzer(cam, settings, clock, sink, sub, options);
  vigil::CameraWorker worker(cam, ingest, clock, vigil::rtsp_source_factory(clock, ingest),
                             {&analyzer});
  worker.start();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  worker.stop();
  analyzer.drain();
  const vigil::AnalyzerStats s = analyzer.stats();
  std::printf("stats packets=%lld decoded_packets=%lld dropped=%lld frames_decoded=%lld "
              "frames_analysed=%lld decode_errors=%lld triggers=%lld sampled_gops=%lld "
              "looked_back=%lld\n",
              static_cast<long long>(s.packets_seen), static_cast<long long>(s.packets_decoded),
              static_cast<long long>(s.packets_dropped), static_cast<long long>(s.frames_decoded),
              static_cast<long long>(s.frames_analysed), static_cast<long long>(s.decode_errors),
              static_cast<long long>(s.size_triggers), static_cast<long long>(s.sampled_gops),
              static_cast<long long>(s.looked_back));
  analyzer.stop();
  return 0;
}
