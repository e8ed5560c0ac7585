// Event notifications over MQTT (libmosquitto), shaped for Home Assistant:
//   <prefix>/<camera>/<type>    "ON"/"OFF", retained, QoS 1: the state of each camera x type
//   <prefix>/events             the event JSON (event_notice_json) at every start and end, QoS 1
//   <prefix>/<camera>/held_full "ON"/"OFF", retained: the camera's recording is stopped by a disk
//                               full of held footage (a problem, not an event; its own type)
//   <prefix>/problems           the problem JSON (problem_notice_json) as it starts and ends, QoS 1
//   <prefix>/availability       "online" retained at connect; "offline" as the last will and at
//                               an orderly stop
//   <discovery_prefix>/binary_sensor/<client_id>_<camera>/<type>/config
//                               Home Assistant MQTT discovery, retained, one per camera x type
// At every (re)connect the availability, the discovery configs and the current state of every
// camera x type are published again, so a broker restart or messages dropped while it was down
// never leave a sensor stuck ON.
// notify() only queues (bounded); a thread of this class publishes while connected. A message
// that waits longer than retry_for (broker down) or finds the queue full is dropped and counted.
// A network thread of this class runs libmosquitto's loop and (re)connects with backoff (1 s
// doubling to 10 s), also when the broker was down at start (libmosquitto's own loop thread gives
// up in that case). Both threads are supervised (core/supervision.h; components "mqtt" and
// "mqtt-sender", threads "mqtt" and "mqtt-send"): what throws in them, or in libmosquitto's
// callbacks, is reported and they start again after a backoff.
// Thread-safe. The destructor publishes "offline", disconnects and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "events/event_notice.h"

struct mosquitto;

namespace vigil {

struct MqttStats {
  bool connected = false;
  uint64_t connects = 0;         // successful connections (the first and every reconnect)
  uint64_t sent = 0;             // handed to the broker connection
  uint64_t acknowledged = 0;     // QoS 1 PUBACKs received
  uint64_t dropped_full = 0;     // the queue was full
  uint64_t dropped_expired = 0;  // not sent within retry_for
  uint64_t queued = 0;
};

// Login and TLS of `s` on a new client (shared by the notifier and the "send test" client).
// Throws Error(kInvalidArgument) when libmosquitto refuses the TLS settings (unreadable CA file).
void mqtt_configure_client(struct mosquitto* mosq, const MqttSettings& s);

class MqttNotifier final : public EventNotifier, public ProblemNotifier {
 public:
  // `config.mqtt` must name a host; config.cameras get discovery and state topics.
  // Connecting starts at once and goes on in the background (the broker may be down).
  // Failures are reported in `components` (null: only logged), which must outlive the notifier.
  MqttNotifier(const Config& config, const Clock& clock, ComponentRegistry* components = nullptr);
  ~MqttNotifier() override;
  MqttNotifier(const MqttNotifier&) = delete;
  MqttNotifier& operator=(const MqttNotifier&) = delete;

  void notify(const EventNotice& n) override;
  void notify_problem(const ProblemNotice& n) override;
  // The cameras changed at run time: discovery and OFF states for added cameras, discovery
  // removed for removed ones (at once when connected; the next connect publishes all anyway).
  void set_cameras(const Config& next);
  MqttStats stats() const;

  std::string state_topic(const std::string& camera, const std::string& type) const;
  std::string discovery_topic(const std::string& camera, const std::string& type) const;
  std::string availability_topic() const;
  std::string events_topic() const;
  std::string problems_topic() const;

 private:
  struct Message {
    std::string topic;
    std::string payload;
    bool retain = false;
    SteadyTime deadline;
  };
  void enqueue(Message m);
  void run();
  void run_network();
  void on_connect(int rc);
  // Home Assistant's discovery message of one camera x type (empty `name`: remove the entity).
  void publish_discovery(const std::string& id, const std::string& name, const char* type);
  void on_disconnect();
  void publish_now(const std::string& topic, const std::string& payload, bool retain);

  static void connect_cb(struct mosquitto*, void* self, int rc);
  static void disconnect_cb(struct mosquitto*, void* self, int rc);
  static void publish_cb(struct mosquitto*, void* self, int mid);

  const MqttSettings s_;
  const Clock& clock_;
  struct mosquitto* mosq_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;
  std::map<std::pair<std::string, std::string>, bool> state_;  // camera x type -> ON
  std::map<std::string, std::string> cameras_;                 // id -> name
  bool connected_ = false;
  bool stopping_ = false;
  MqttStats stats_;
  SupervisedThread network_;
  SupervisedThread sender_;
};

}  // namespace vigil
