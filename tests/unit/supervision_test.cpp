// Failures stay inside their component (core/supervision.h): a thread body that throws anything
// is reported, marked failed and restarted; an analyzer whose detector throws cv::Exception is
// restarted while the camera's recording goes on; a sink that throws a non-vigil exception
// costs its camera a reconnect, not the process. Failures are injected through the existing
// seams (Detector, PacketSink, MediaSource), never through test-only hooks.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "analysis_clips.h"
#include "analyze/camera_analyzer.h"
#include "core/supervision.h"
#include "ingest/camera_worker.h"
#include "serve/metrics.h"
#include "test_support.h"

namespace vigil {
namespace {

const WallTime kT0 = wall_from_ms(1'790'000'000'000);
// Quick restarts, so that tests wait milliseconds rather than seconds.
const RestartPolicy kQuick{std::chrono::milliseconds(10), std::chrono::milliseconds(20),
                           std::chrono::milliseconds(30'000)};

// Polls `done` for up to a minute: a guard against hanging, never a measure of speed.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 6000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

const ComponentStatus* find(const std::vector<ComponentStatus>& all, const std::string& component,
                            const std::string& camera = "") {
  for (const auto& c : all) {
    if (c.id.component == component && c.id.camera == camera) return &c;
  }
  return nullptr;
}

TEST(Supervision, BodyThatThrowsAnythingIsReportedAndRestarted) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  std::atomic<int> runs{0};
  std::string name_seen;
  std::mutex mu;
  {
    SupervisedThread t(&registry, {"retention", "", ""}, "a-very-long-thread-name", kQuick);
    t.start([&] {
      {
        std::lock_guard lock(mu);
        name_seen = thread_name();
      }
      switch (++runs) {
        case 1:
          throw std::filesystem::filesystem_error("remove", std::filesystem::path("/x/y"),
                                                  std::make_error_code(std::errc::read_only_file_system));
        case 2:
          throw 42;  // not even an exception class
        default:
          while (t.wait_for(std::chrono::milliseconds(5))) {
          }
      }
    });
    ASSERT_TRUE(eventually([&] { return runs.load() >= 3; }));
    const auto all = registry.snapshot();
    const ComponentStatus* c = find(all, "retention");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->failures, 2);
    EXPECT_TRUE(c->failed);  // failed within the last minute, though running again
    EXPECT_FALSE(c->restarting);
    EXPECT_NE(c->last_error.find("int"), std::string::npos) << c->last_error;
    ASSERT_TRUE(c->last_failure_at.has_value());
    EXPECT_EQ(*c->last_failure_at, kT0);
    // Linux keeps 15 bytes of a thread's name.
    std::lock_guard lock(mu);
    EXPECT_EQ(name_seen, "a-very-long-thr");
  }
  // Stopped and destroyed: it left the registry.
  EXPECT_TRUE(registry.snapshot().empty());
}

TEST(Supervision, FailureSaysWhatWasThrownAndReadsFailedForAMinute) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  Component c(&registry, {"webhook", "", "https://hooks.example/x"});
  EXPECT_FALSE(registry.snapshot().at(0).failed);
  EXPECT_TRUE(c.contain([] {}));
  EXPECT_FALSE(c.contain([] {
    throw std::filesystem::filesystem_error("create_directories", std::filesystem::path("/data/r"),
                                            std::make_error_code(std::errc::read_only_file_system));
  }));
  ComponentStatus s = registry.snapshot().at(0);
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.failures, 1);
  // The type, the call and the file: enough to act on.
  EXPECT_NE(s.last_error.find("filesystem_error"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("/data/r"), std::string::npos) << s.last_error;
  EXPECT_EQ(c.context(), "webhook (https://hooks.example/x)");
  clock.advance(ComponentRegistry::kFailedFor + std::chrono::seconds(1));
  s = registry.snapshot().at(0);
  EXPECT_FALSE(s.failed);
  EXPECT_EQ(s.failures, 1);  // the count stays
}

TEST(Supervision, StopEndsTheBackoffOfABodyThatAlwaysFails) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  std::atomic<int> runs{0};
  SupervisedThread t(&registry, {"export", "", ""}, "export",
                     {std::chrono::hours(1), std::chrono::hours(1), std::chrono::hours(1)});
  t.start([&] {
    ++runs;
    throw std::bad_alloc();
  });
  ASSERT_TRUE(eventually([&] { return registry.snapshot().at(0).restarting; }));
  EXPECT_NE(registry.snapshot().at(0).last_error.find("std::bad_alloc"), std::string::npos);
  t.stop();  // returns without waiting the hour
  EXPECT_EQ(runs.load(), 1);
}

// The status writer's shape (RecorderService): a periodic task whose run throws is restarted,
// and the following runs happen.
TEST(Supervision, PeriodicWriterThatThrowsGoesOnWriting) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  std::atomic<int> calls{0};
  std::atomic<int> written{0};
  SupervisedThread t(&registry, {"status", "", ""}, "status", kQuick);
  t.start([&] {
    while (t.wait_for(std::chrono::milliseconds(1))) {
      // What a camera's Latin-1 reason phrase once did to status.json.
      if (++calls == 2) written += static_cast<int>(nlohmann::json("\xe9t\xe9").dump().size());
      ++written;
    }
  });
  ASSERT_TRUE(eventually([&] { return written.load() >= 5; }));
  t.stop();
  const ComponentStatus s = registry.snapshot().at(0);
  EXPECT_EQ(s.failures, 1);
  EXPECT_NE(s.last_error.find("invalid UTF-8 byte"), std::string::npos) << s.last_error;
}

// ---- camera threads ---------------------------------------------------------------------------

// Replays the test clip once per connection, then ends the stream (the worker reconnects).
class ReplaySource final : public MediaSource {
 public:
  std::shared_ptr<const StreamInfo> open() override { return test::test_clip().info; }
  bool read(AVPacket* pkt, TrackKind& track) override {
    return test::read_test_clip(next_, pkt, track);
  }
  void interrupt() override {}

 private:
  size_t next_ = 0;
};

// Stands in for the recorder: counts what it is given. `throw_at`: the packet (1-based, over the
// worker's life) on which it throws a std::runtime_error, once.
class CountingSink final : public PacketSink {
 public:
  explicit CountingSink(int throw_at = 0) : throw_at_(throw_at) {}
  void on_stream_start(std::shared_ptr<const StreamInfo>, WallTime) override { ++starts; }
  void on_packet(const MediaPacket&) override {
    if (++packets == throw_at_) throw std::runtime_error("sink failed on purpose");
  }
  void on_stream_end(const std::string& reason, WallTime) override {
    std::lock_guard lock(mu);
    ends.push_back(reason);
  }
  std::atomic<int> starts{0};
  std::atomic<int> packets{0};
  std::mutex mu;
  std::vector<std::string> ends;

 private:
  const int throw_at_;
};

// A detector that hits an OpenCV assertion on its second frame, as a bug in one would.
class FailingDetector final : public Detector {
 public:
  explicit FailingDetector(std::atomic<int>& calls) : calls_(calls) {}
  std::string_view name() const override { return "failing"; }
  void detect(const AnalysisFrame& frame, std::vector<Detection>&) override {
    const int n = ++calls_;
    CV_Assert(n != 2 && !frame.grey.empty());
  }

 private:
  std::atomic<int>& calls_;
};

IngestSettings quick_ingest() {
  IngestSettings s;
  s.backoff_initial = std::chrono::milliseconds(10);
  s.backoff_max = std::chrono::milliseconds(20);
  s.read_batch = std::chrono::milliseconds(0);
  return s;
}

TEST(Supervision, AnalyzerThatThrowsRestartsWhileRecordingGoesOn) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  CameraConfig cam;
  cam.id = "front";
  AnalysisSettings settings;
  settings.enabled = true;
  settings.tamper = false;
  settings.decode = AnalysisDecode::kAll;  // every frame: the detector sees many
  std::atomic<int> detect_calls{0};
  std::vector<std::unique_ptr<Detector>> more;
  more.push_back(std::make_unique<FailingDetector>(detect_calls));
  test::CollectingSink results;
  CameraAnalyzerOptions options;
  options.components = &registry;
  options.restart = kQuick;
  CameraAnalyzer analyzer(cam, settings, clock, results, false, options, std::move(more));
  CountingSink recorder;
  CameraWorker worker(cam, quick_ingest(), clock,
                      [](const CameraConfig&) { return std::make_unique<ReplaySource>(); },
                      {&recorder, &analyzer}, &registry);
  worker.start();
  const int clip = static_cast<int>(test::test_clip().video.size());
  // Two whole replays reach the recorder, and the analyzer analyses again after its failure.
  ASSERT_TRUE(eventually([&] {
    return recorder.packets.load() >= 2 * clip && detect_calls.load() > 2 &&
           analyzer.stats().frames_analysed > 1;
  }));
  worker.stop();
  analyzer.stop();
  const auto all = registry.snapshot();
  const ComponentStatus* a = find(all, "analyzer", "front");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->failures, 1);
  EXPECT_TRUE(a->failed);
  EXPECT_NE(a->last_error.find("cv::Exception"), std::string::npos) << a->last_error;
  // The ingest thread never noticed: every stream ended because the clip ended.
  const ComponentStatus* ingest = find(all, "ingest", "front");
  ASSERT_NE(ingest, nullptr);
  EXPECT_EQ(ingest->failures, 0);
  std::lock_guard lock(recorder.mu);
  for (const auto& reason : recorder.ends) {
    EXPECT_TRUE(reason == "the camera ended the stream" || reason == "vigil stopped") << reason;
  }
}

TEST(Supervision, SinkThatThrowsCostsItsCameraAReconnectOnly) {
  test::FakeClock clock(kT0);
  ComponentRegistry registry(clock);
  CameraConfig cam;
  cam.id = "yard";
  CountingSink failing(5);
  CountingSink other;
  CameraWorker worker(cam, quick_ingest(), clock,
                      [](const CameraConfig&) { return std::make_unique<ReplaySource>(); },
                      {&failing, &other}, &registry);
  worker.start();
  const int clip = static_cast<int>(test::test_clip().video.size());
  // Connected again after the failure and streamed a whole clip since.
  ASSERT_TRUE(eventually([&] { return other.starts.load() >= 2 && other.packets.load() > clip; }));
  worker.stop();
  const auto all = registry.snapshot();
  const ComponentStatus* c = find(all, "ingest", "yard");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->failures, 1);
  EXPECT_NE(c->last_error.find("std::runtime_error: sink failed on purpose"), std::string::npos)
      << c->last_error;
  // The sinks were told that the stream ended, and why; the camera's health says it too.
  {
    std::lock_guard lock(other.mu);
    ASSERT_FALSE(other.ends.empty());
    EXPECT_EQ(other.ends.front(), "std::runtime_error: sink failed on purpose");
  }
}

TEST(Supervision, MetricsHaveAFailedGaugeAndAFailureCounterPerComponent) {
  const nlohmann::json status = {
      {"cameras", nlohmann::json::array()},
      {"components",
       {{{"component", "analyzer"}, {"camera", "front"}, {"target", ""}, {"failed", true},
         {"failures", 3}},
        {{"component", "retention"}, {"camera", ""}, {"target", ""}, {"failed", false},
         {"failures", 0}},
        // Two notifiers with the same target (one being replaced): one series.
        {{"component", "webhook"}, {"camera", ""}, {"target", "https://h/x"}, {"failed", true},
         {"failures", 1}},
        {{"component", "webhook"}, {"camera", ""}, {"target", "https://h/x"}, {"failed", false},
         {"failures", 2}}}}};
  const std::string m = prometheus_metrics(status, {});
  EXPECT_NE(m.find("vigil_component_failed{component=\"analyzer\",camera=\"front\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("vigil_component_failures_total{component=\"analyzer\",camera=\"front\"} 3\n"),
            std::string::npos);
  EXPECT_NE(m.find("vigil_component_failed{component=\"retention\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("vigil_component_failed{component=\"webhook\",target=\"https://h/x\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      m.find("vigil_component_failures_total{component=\"webhook\",target=\"https://h/x\"} 3\n"),
      std::string::npos);
  EXPECT_NE(m.find("# TYPE vigil_component_failures_total counter"), std::string::npos);
}

}  // namespace
}  // namespace vigil
