// MqttNotifier against a real mosquitto broker started here on a free 127.0.0.1 port, with a
// libmosquitto subscriber asserting what arrives: discovery, retained state, event JSON,
// availability, and the behaviour while the broker is down (nothing blocks; messages expire and
// are counted as dropped).
#include "events/mqtt_notifier.h"

#include <gtest/gtest.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// Polls `cond` until it holds; fails the test after a generous bound (not a timing assertion:
// the bound only keeps a broken run from hanging).
bool eventually(const std::function<bool()>& cond, milliseconds bound = milliseconds(20'000)) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return cond();
}

// A mosquitto broker process on 127.0.0.1:port, stopped by PID.
class Broker {
 public:
  Broker(const std::filesystem::path& dir, int port) : port_(port) {
    conf_ = dir / ("mosquitto-" + std::to_string(port) + ".conf");
    std::ofstream(conf_) << "listener " << port << " 127.0.0.1\nallow_anonymous true\n"
                         << "persistence false\nlog_dest none\n";
    start();
  }
  ~Broker() { stop(); }
  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("mosquitto", "mosquitto", "-c", conf_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    EXPECT_TRUE(eventually([&] { return port_open(port_); })) << "mosquitto did not start";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  int port_;
  std::filesystem::path conf_;
  pid_t pid_ = -1;
};

struct Received {
  std::string topic;
  std::string payload;
  bool retained = false;
};

// Subscribes to everything and keeps what arrives.
class Subscriber {
 public:
  explicit Subscriber(int port) {
    m_ = mosquitto_new(nullptr, true, this);
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* me = static_cast<Subscriber*>(self);
      std::lock_guard lock(me->mu_);
      me->got_.push_back({msg->topic,
                          std::string(static_cast<const char*>(msg->payload),
                                      static_cast<size_t>(msg->payloadlen)),
                          msg->retain});
    });
    mosquitto_connect_callback_set(
        m_, [](mosquitto* m, void*, int) { mosquitto_subscribe(m, nullptr, "#", 1); });
    EXPECT_EQ(mosquitto_connect(m_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    mosquitto_loop_start(m_);
  }
  ~Subscriber() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  std::vector<Received> all() {
    std::lock_guard lock(mu_);
    return got_;
  }
  std::vector<Received> on(const std::string& topic) {
    std::vector<Received> out;
    for (auto& r : all()) {
      if (r.topic == topic) out.push_back(r);
    }
    return out;
  }

 private:
  mosquitto* m_;
  std::mutex mu_;
  std::vector<Received> got_;
};

EventNotice notice(EventNotice::Kind kind, int64_t id) {
  EventNotice n;
  n.kind = kind;
  n.id = id;
  n.camera_id = "front";
  n.camera_name = "Front door";
  n.type = "motion";
  n.zones = {"door"};
  n.start = wall_from_ms(1'790'000'000'000);
  if (kind == EventNotice::Kind::kEnd) n.end = n.start + milliseconds(4200);
  n.peak_score = 0.75;
  n.has_snapshot = true;
  return n;
}

class MqttTest : public ::testing::Test {
 protected:
  MqttTest() : port_(free_port()), config_(test::two_camera_config(dir_.path())) {
    config_.cameras[0].name = "Front door";
    config_.mqtt.host = "127.0.0.1";
    config_.mqtt.port = port_;
    config_.mqtt.prefix = "site/vigil";
    config_.mqtt.retry_for = milliseconds(300);
  }
  test::TempDir dir_;
  int port_;
  Config config_;
  SystemClock clock_;
};

TEST_F(MqttTest, DiscoveryRetainedStateEventsAndAvailability) {
  Broker broker(dir_.path(), port_);
  {
    MqttNotifier mqtt(config_, clock_);
    ASSERT_TRUE(eventually([&] { return mqtt.stats().connected; }));
    Subscriber live(port_);
    // Retained at connect: availability, 2 cameras x 6 types (5 events, held_full) of discovery
    // and of state.
    ASSERT_TRUE(eventually([&] { return live.all().size() >= 25; })) << live.all().size();
    const auto avail = live.on("site/vigil/availability");
    ASSERT_EQ(avail.size(), 1u);
    EXPECT_EQ(avail[0].payload, "online");
    EXPECT_TRUE(avail[0].retained);
    const auto disc = live.on("homeassistant/binary_sensor/vigil_front/motion/config");
    ASSERT_EQ(disc.size(), 1u);
    EXPECT_TRUE(disc[0].retained);
    const json cfg = json::parse(disc[0].payload);
    EXPECT_EQ(cfg["state_topic"], "site/vigil/front/motion");
    EXPECT_EQ(cfg["availability_topic"], "site/vigil/availability");
    EXPECT_EQ(cfg["device_class"], "motion");
    EXPECT_EQ(cfg["unique_id"], "vigil_front_motion");
    EXPECT_EQ(cfg["device"]["name"], "Front door");
    EXPECT_EQ(json::parse(live.on("homeassistant/binary_sensor/vigil_yard/signal_lost/config")[0]
                              .payload)["device_class"],
              "problem");
    EXPECT_EQ(live.on("site/vigil/yard/tamper_moved").at(0).payload, "OFF");
    EXPECT_EQ(json::parse(live.on("homeassistant/binary_sensor/vigil_yard/held_full/config")[0]
                              .payload)["device_class"],
              "problem");
    EXPECT_EQ(live.on("site/vigil/yard/held_full").at(0).payload, "OFF");

    mqtt.notify(notice(EventNotice::Kind::kStart, 7));
    ASSERT_TRUE(eventually([&] { return live.on("site/vigil/events").size() == 1; }));
    EXPECT_EQ(live.on("site/vigil/front/motion").back().payload, "ON");
    const json ev = json::parse(live.on("site/vigil/events")[0].payload);
    EXPECT_EQ(ev["event"], "start");
    EXPECT_EQ(ev["id"], 7);
    EXPECT_EQ(ev["camera"], "front");
    EXPECT_EQ(ev["type"], "motion");
    EXPECT_EQ(ev["zones"], json::array({"door"}));
    EXPECT_EQ(ev["snapshot"], "/api/events/7/snapshot.jpg");
    EXPECT_TRUE(ev["end"].is_null());
    // A subscriber that comes later gets the state as retained: ON while the event lasts.
    {
      Subscriber late(port_);
      ASSERT_TRUE(eventually([&] { return !late.on("site/vigil/front/motion").empty(); }));
      EXPECT_EQ(late.on("site/vigil/front/motion")[0].payload, "ON");
      EXPECT_TRUE(late.on("site/vigil/front/motion")[0].retained);
      EXPECT_TRUE(late.on("site/vigil/events").empty());  // event messages are not retained
    }
    mqtt.notify(notice(EventNotice::Kind::kEnd, 7));
    ASSERT_TRUE(eventually([&] { return live.on("site/vigil/events").size() == 2; }));
    EXPECT_EQ(live.on("site/vigil/front/motion").back().payload, "OFF");
    const json end = json::parse(live.on("site/vigil/events")[1].payload);
    EXPECT_EQ(end["event"], "end");
    EXPECT_EQ(end["end_ms"], 1'790'000'004'200);
    // A problem: the retained per-camera state and its JSON on <prefix>/problems.
    ProblemNotice problem;
    problem.problem = "held_full";
    problem.camera_id = "yard";
    problem.at = wall_from_ms(1'790'000'005'000);
    problem.free_bytes = 4096;
    problem.message = "disk full of held footage";
    mqtt.notify_problem(problem);
    ASSERT_TRUE(eventually([&] { return live.on("site/vigil/problems").size() == 1; }));
    EXPECT_EQ(live.on("site/vigil/yard/held_full").back().payload, "ON");
    const json pj = json::parse(live.on("site/vigil/problems")[0].payload);
    EXPECT_EQ(pj["problem"], "held_full");
    EXPECT_EQ(pj["state"], "start");
    EXPECT_EQ(pj["camera"], "yard");
    EXPECT_EQ(pj["free_bytes"], 4096);
    EXPECT_EQ(pj["at_ms"], 1'790'000'005'000);
    // The subscriber can see the last message before the publishing thread has taken its lock
    // back to count it: wait for the count rather than read it at once.
    ASSERT_TRUE(eventually([&] { return mqtt.stats().sent == 6u; })) << mqtt.stats().sent;
    const auto st = mqtt.stats();
    EXPECT_EQ(st.dropped_expired + st.dropped_full, 0u);
    EXPECT_EQ(st.connects, 1u);
  }
  // An orderly stop says offline (retained): a new subscriber sees it.
  Subscriber after(port_);
  ASSERT_TRUE(eventually([&] { return !after.on("site/vigil/availability").empty(); }));
  EXPECT_EQ(after.on("site/vigil/availability")[0].payload, "offline");
}

TEST_F(MqttTest, ABrokerThatIsDownBlocksNothingAndMessagesExpireCounted) {
  // No broker at all at first: the notifier starts, notify() returns, messages expire.
  MqttNotifier mqtt(config_, clock_);
  for (int i = 0; i < 5; ++i) mqtt.notify(notice(EventNotice::Kind::kStart, i));
  EXPECT_FALSE(mqtt.stats().connected);
  ASSERT_TRUE(eventually([&] { return mqtt.stats().dropped_expired == 10; }))
      << mqtt.stats().dropped_expired;
  EXPECT_EQ(mqtt.stats().sent, 0u);
  EXPECT_EQ(mqtt.stats().queued, 0u);
  // The broker comes up: the notifier connects by itself and publishes the present state (the
  // last notice said motion ON), though the messages themselves were dropped.
  Broker broker(dir_.path(), port_);
  ASSERT_TRUE(eventually([&] { return mqtt.stats().connected; }, milliseconds(60'000)));
  Subscriber sub(port_);
  ASSERT_TRUE(eventually([&] { return !sub.on("site/vigil/front/motion").empty(); }));
  EXPECT_EQ(sub.on("site/vigil/front/motion")[0].payload, "ON");
  // Down again while connected: notify() still returns; they expire once more.
  broker.stop();
  ASSERT_TRUE(eventually([&] { return !mqtt.stats().connected; }));
  mqtt.notify(notice(EventNotice::Kind::kEnd, 4));
  ASSERT_TRUE(eventually([&] { return mqtt.stats().dropped_expired == 12; }));
}

}  // namespace
}  // namespace vigil
