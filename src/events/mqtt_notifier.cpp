#include "events/mqtt_notifier.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/text.h"

namespace vigil {
namespace {

// Event types, and the problem "held_full" (ProblemNotice), which has a state topic and a Home
// Assistant sensor per camera like them.
constexpr const char* kTypes[] = {"motion",      "tamper_covered", "tamper_defocused",
                                  "tamper_moved", "signal_lost",    "held_full"};
constexpr int kQos = 1;

// Home Assistant's device classes for binary sensors: "problem" for a lost signal and a disk
// full of held footage (ON = a problem), "tamper" for the tamper conditions.
const char* device_class(const std::string& type) {
  if (type == "motion") return "motion";
  if (type == "signal_lost" || type == "held_full") return "problem";
  return "tamper";
}

std::string type_title(const std::string& type) {
  if (type == "motion") return "Motion";
  if (type == "tamper_covered") return "Lens covered";
  if (type == "tamper_defocused") return "Defocused";
  if (type == "tamper_moved") return "View moved";
  if (type == "held_full") return "Stopped: disk full of held footage";
  return "Signal lost";
}

}  // namespace

void mqtt_configure_client(struct mosquitto* mosq, const MqttSettings& s) {
  if (!s.username.empty()) {
    mosquitto_username_pw_set(mosq, s.username.c_str(),
                              s.password.empty() ? nullptr : s.password.c_str());
  }
  if (!s.tls) return;
  // Without a CA file, the system's trust store (ca-certificates keeps it hashed there).
  const std::string ca = s.ca_file.string();
  const int rc = mosquitto_tls_set(mosq, ca.empty() ? nullptr : ca.c_str(),
                                   ca.empty() ? "/etc/ssl/certs" : nullptr, nullptr, nullptr,
                                   nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    throw Error(ErrorCode::kInvalidArgument,
                "mqtt " + s.host + ": TLS settings refused (ca_file " +
                    (ca.empty() ? std::string("/etc/ssl/certs") : ca) +
                    "): " + mosquitto_strerror(rc));
  }
}

MqttNotifier::MqttNotifier(const Config& config, const Clock& clock,
                           ComponentRegistry* components)
    : s_(config.mqtt),
      clock_(clock),
      network_(components, {"mqtt", "", s_.host + ":" + std::to_string(s_.port)}, "mqtt"),
      sender_(components, {"mqtt-sender", "", s_.host + ":" + std::to_string(s_.port)},
              "mqtt-send") {
  if (s_.host.empty()) throw Error(ErrorCode::kInvalidArgument, "mqtt: no host configured");
  for (const auto& c : config.cameras) {
    cameras_[c.id] = c.name;
    for (const char* t : kTypes) state_[{c.id, t}] = false;
  }
  mosquitto_lib_init();
  mosq_ = mosquitto_new(s_.client_id.c_str(), true, this);
  if (!mosq_) {
    mosquitto_lib_cleanup();
    throw Error(ErrorCode::kResourceExhausted, "mqtt: cannot create a client");
  }
  const std::string offline = "offline";
  mosquitto_will_set(mosq_, availability_topic().c_str(), static_cast<int>(offline.size()),
                     offline.data(), kQos, true);
  try {
    mqtt_configure_client(mosq_, s_);
  } catch (...) {
    mosquitto_destroy(mosq_);
    mosquitto_lib_cleanup();
    throw;
  }
  mosquitto_connect_callback_set(mosq_, &MqttNotifier::connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &MqttNotifier::disconnect_cb);
  mosquitto_publish_callback_set(mosq_, &MqttNotifier::publish_cb);
  // Publishing from the sender thread while the network thread runs the loop.
  mosquitto_threaded_set(mosq_, true);
  // A restarted network thread connects afresh.
  network_.start([this] { run_network(); }, [this](const std::string&) { on_disconnect(); });
  sender_.start([this] { run(); });
}

MqttNotifier::~MqttNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  sender_.stop();
  network_.stop();  // says offline and disconnects on its way out
  mosquitto_destroy(mosq_);
  mosquitto_lib_cleanup();
}

void MqttNotifier::run_network() {
  constexpr std::chrono::milliseconds kFirstBackoff{1'000};
  constexpr std::chrono::milliseconds kMaxBackoff{10'000};
  std::chrono::milliseconds backoff = kFirstBackoff;
  bool first = true;
  bool need_connect = true;
  uint64_t connects_seen = 0;
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  auto pause = [&] {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, backoff, [this] { return stopping_; });
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  const int keepalive = static_cast<int>(s_.keepalive.count());
  while (!stopping()) {
    if (need_connect) {
      // Non-blocking: the TCP connection completes inside mosquitto_loop.
      const int rc = first ? mosquitto_connect_async(mosq_, s_.host.c_str(), s_.port, keepalive)
                           : mosquitto_reconnect_async(mosq_);
      first = false;
      if (rc != MOSQ_ERR_SUCCESS) {
        spdlog::debug("mqtt: {}:{}: {}", s_.host, s_.port, mosquitto_strerror(rc));
        pause();
        continue;
      }
      need_connect = false;
    }
    const int rc = mosquitto_loop(mosq_, 100, 1);
    {
      std::lock_guard lock(mu_);
      if (stats_.connects != connects_seen) {
        connects_seen = stats_.connects;
        backoff = kFirstBackoff;
      }
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      on_disconnect();
      need_connect = true;
      pause();
    }
  }
  bool connected;
  {
    std::lock_guard lock(mu_);
    connected = connected_;
  }
  if (connected) {
    publish_now(availability_topic(), "offline", true);
    mosquitto_disconnect(mosq_);
    // Writes the queued "offline" and DISCONNECT; the loop reports the closed connection.
    for (int i = 0; i < 20 && mosquitto_loop(mosq_, 100, 1) == MOSQ_ERR_SUCCESS; ++i) {
    }
  }
}

std::string MqttNotifier::state_topic(const std::string& camera, const std::string& type) const {
  return s_.prefix + "/" + camera + "/" + type;
}
std::string MqttNotifier::discovery_topic(const std::string& camera,
                                          const std::string& type) const {
  return s_.discovery_prefix + "/binary_sensor/" + s_.client_id + "_" + camera + "/" + type +
         "/config";
}
std::string MqttNotifier::availability_topic() const { return s_.prefix + "/availability"; }
std::string MqttNotifier::events_topic() const { return s_.prefix + "/events"; }
std::string MqttNotifier::problems_topic() const { return s_.prefix + "/problems"; }

void MqttNotifier::notify(const EventNotice& n) {
  const bool on = n.kind == EventNotice::Kind::kStart;
  {
    std::lock_guard lock(mu_);
    state_[{n.camera_id, n.type}] = on;
  }
  const SteadyTime deadline = clock_.steady_now() + s_.retry_for;
  enqueue({state_topic(n.camera_id, n.type), on ? "ON" : "OFF", true, deadline});
  enqueue({events_topic(), to_json_text(event_notice_json(n)), false, deadline});
}

void MqttNotifier::notify_problem(const ProblemNotice& n) {
  const bool on = n.kind == ProblemNotice::Kind::kStart;
  {
    std::lock_guard lock(mu_);
    state_[{n.camera_id, n.problem}] = on;  // republished at every connect, as event states are
  }
  const SteadyTime deadline = clock_.steady_now() + s_.retry_for;
  enqueue({state_topic(n.camera_id, n.problem), on ? "ON" : "OFF", true, deadline});
  enqueue({problems_topic(), to_json_text(problem_notice_json(n)), false, deadline});
}

void MqttNotifier::enqueue(Message m) {
  std::lock_guard lock(mu_);
  if (queue_.size() >= s_.queue_limit) {
    ++stats_.dropped_full;
    return;
  }
  queue_.push_back(std::move(m));
  cv_.notify_all();  // shared with the network thread's pause, which ignores it
}

MqttStats MqttNotifier::stats() const {
  std::lock_guard lock(mu_);
  MqttStats s = stats_;
  s.connected = connected_;
  s.queued = queue_.size();
  return s;
}

void MqttNotifier::publish_now(const std::string& topic, const std::string& payload, bool retain) {
  mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                    kQos, retain);
}

void MqttNotifier::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Expired messages go first, connected or not: the queue holds only what may still be sent.
    const SteadyTime now = clock_.steady_now();
    while (!queue_.empty() && queue_.front().deadline < now) {
      queue_.pop_front();
      ++stats_.dropped_expired;
    }
    if (!connected_ || queue_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    Message m = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const int rc =
        mosquitto_publish(mosq_, nullptr, m.topic.c_str(), static_cast<int>(m.payload.size()),
                          m.payload.data(), kQos, m.retain);
    lock.lock();
    if (rc == MOSQ_ERR_SUCCESS) {
      ++stats_.sent;
    } else {
      // Not connected after all: back to the front, to be retried (or expire).
      queue_.push_front(std::move(m));
      connected_ = rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST && connected_;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
}

void MqttNotifier::on_connect(int rc) {
  if (rc != 0) {
    spdlog::warn("mqtt: {}:{} refused the connection: {}", s_.host, s_.port,
                 mosquitto_connack_string(rc));
    return;
  }
  std::map<std::pair<std::string, std::string>, bool> state;
  std::map<std::string, std::string> cameras;
  {
    std::lock_guard lock(mu_);
    state = state_;
    cameras = cameras_;
  }
  // Availability, discovery and present state first, then whatever waited in the queue.
  publish_now(availability_topic(), "online", true);
  if (s_.discovery) {
    for (const auto& [id, name] : cameras) {
      for (const char* type : kTypes) publish_discovery(id, name, type);
    }
  }
  for (const auto& [key, on] : state) {
    publish_now(state_topic(key.first, key.second), on ? "ON" : "OFF", true);
  }
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    ++stats_.connects;
  }
  cv_.notify_all();
  spdlog::info("mqtt: connected to {}:{}", s_.host, s_.port);
}

void MqttNotifier::publish_discovery(const std::string& id, const std::string& name,
                                     const char* type) {
  if (name.empty()) {
    publish_now(discovery_topic(id, type), "", true);  // an empty retained config removes it
    return;
  }
  const nlohmann::json cfg = {{"name", type_title(type)},
                              {"unique_id", s_.client_id + "_" + id + "_" + type},
                              {"state_topic", state_topic(id, type)},
                              {"payload_on", "ON"},
                              {"payload_off", "OFF"},
                              {"availability_topic", availability_topic()},
                              {"device_class", device_class(type)},
                              {"device",
                               {{"identifiers", {s_.client_id + "_" + id}},
                                {"name", name},
                                {"manufacturer", "vigil"},
                                {"model", "camera"}}}};
  publish_now(discovery_topic(id, type), to_json_text(cfg), true);
}

void MqttNotifier::set_cameras(const Config& next) {
  std::map<std::string, std::string> added;
  std::vector<std::string> removed;
  bool connected = false;
  {
    std::lock_guard lock(mu_);
    std::map<std::string, std::string> now;
    for (const auto& c : next.cameras) {
      now[c.id] = c.name;
      auto old = cameras_.find(c.id);
      if (old == cameras_.end() || old->second != c.name) added[c.id] = c.name;
      for (const char* t : kTypes) state_.try_emplace({c.id, t}, false);
    }
    for (const auto& [id, name] : cameras_) {
      if (!now.count(id)) {
        removed.push_back(id);
        for (const char* t : kTypes) state_.erase({id, t});
      }
    }
    cameras_ = std::move(now);
    connected = connected_;
  }
  if (!connected) return;
  for (const auto& [id, name] : added) {
    for (const char* type : kTypes) {
      if (s_.discovery) publish_discovery(id, name, type);
      publish_now(state_topic(id, type), "OFF", true);
    }
  }
  for (const auto& id : removed) {
    for (const char* type : kTypes) {
      if (s_.discovery) publish_discovery(id, "", type);
    }
  }
}

void MqttNotifier::on_disconnect() {
  std::lock_guard lock(mu_);
  if (connected_) spdlog::warn("mqtt: lost the connection to {}:{}", s_.host, s_.port);
  connected_ = false;
}

// Called inside libmosquitto (C): nothing may be thrown through it.
void MqttNotifier::connect_cb(struct mosquitto*, void* self, int rc) {
  auto* me = static_cast<MqttNotifier*>(self);
  me->network_.component().contain([&] { me->on_connect(rc); });
}
void MqttNotifier::disconnect_cb(struct mosquitto*, void* self, int) {
  auto* me = static_cast<MqttNotifier*>(self);
  me->network_.component().contain([&] { me->on_disconnect(); });
}
void MqttNotifier::publish_cb(struct mosquitto*, void* self, int) {
  auto* me = static_cast<MqttNotifier*>(self);
  std::lock_guard lock(me->mu_);
  ++me->stats_.acknowledged;
}

}  // namespace vigil
