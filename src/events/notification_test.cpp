#include "events/notification_test.h"

#include <mosquitto.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/redact.h"
#include "core/text.h"
#include "events/http_post.h"
#include "events/mqtt_notifier.h"
#include "events/webhook_notifier.h"

namespace vigil {
namespace {

// What the callbacks of one test client learn; only touched on the calling thread (the loop
// runs there).
struct MqttProbe {
  int connack = -1;      // -1: no CONNACK yet
  int mid = -1;          // the test message's id
  bool acked = false;
  std::string log_error;  // libmosquitto's last error line (OpenSSL's reason for a TLS failure)
};

std::string test_json(WallTime now) {
  return to_json_text({{"test", true},
                       {"message", "Test notification from vigil"},
                       {"at", format_iso8601(now)},
                       {"at_ms", ms_since_epoch(now)}});
}

// A TLS failure first (libmosquitto may report it as a plain socket error after OpenSSL gave
// up), then the socket's errno ("Connection refused"), then libmosquitto's own text.
std::string mqtt_failure(int rc, int saved_errno, const MqttProbe& p) {
  const bool tls_log = p.log_error.find("SSL") != std::string::npos ||
                       p.log_error.find("certificate") != std::string::npos;
  if (rc == MOSQ_ERR_TLS || tls_log) {
    return "TLS: " + (p.log_error.empty() ? std::string(mosquitto_strerror(rc)) : p.log_error);
  }
  if (rc == MOSQ_ERR_ERRNO && saved_errno != 0) return std::strerror(saved_errno);
  return mosquitto_strerror(rc);
}

}  // namespace

std::string webhook_test_body(WallTime now) { return test_json(now); }

NotificationTestResult send_mqtt_test(const MqttSettings& s, WallTime now,
                                      std::chrono::milliseconds timeout) {
  const std::string where = s.host + ":" + std::to_string(s.port);
  if (s.host.empty()) return {false, "no broker host given"};
  mosquitto_lib_init();
  MqttProbe probe;
  // No client id: the broker makes one, so the test never takes over the notifier's session.
  struct mosquitto* mosq = mosquitto_new(nullptr, true, &probe);
  if (!mosq) {
    mosquitto_lib_cleanup();
    return {false, "cannot create an MQTT client"};
  }
  NotificationTestResult out;
  try {
    mqtt_configure_client(mosq, s);
  } catch (const Error& e) {
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return {false, e.what()};
  }
  mosquitto_log_callback_set(mosq, [](struct mosquitto*, void* self, int level, const char* text) {
    if (level & MOSQ_LOG_ERR) static_cast<MqttProbe*>(self)->log_error = clean_text(text);
  });
  mosquitto_connect_callback_set(mosq, [](struct mosquitto*, void* self, int rc) {
    static_cast<MqttProbe*>(self)->connack = rc;
  });
  mosquitto_publish_callback_set(mosq, [](struct mosquitto*, void* self, int mid) {
    auto* p = static_cast<MqttProbe*>(self);
    if (mid == p->mid) p->acked = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int keepalive = static_cast<int>(s.keepalive.count());
  errno = 0;
  int rc = mosquitto_connect_async(mosq, s.host.c_str(), s.port, keepalive);
  bool published = false;
  if (rc != MOSQ_ERR_SUCCESS) {
    out.detail = "connect to " + where + ": " + mqtt_failure(rc, errno, probe);
  } else {
    while (true) {
      if (std::chrono::steady_clock::now() >= deadline) {
        out.detail = "timed out after " + std::to_string(timeout.count()) + " ms (" +
                     (probe.connack < 0 ? "no answer from " + where
                                        : "the broker did not acknowledge the message") +
                     ")";
        break;
      }
      errno = 0;
      rc = mosquitto_loop(mosq, 50, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        out.detail = "connect to " + where + ": " + mqtt_failure(rc, errno, probe);
        if (probe.connack > 0) {
          out.detail = where + " refused the connection: " + mosquitto_connack_string(probe.connack);
        }
        break;
      }
      if (probe.connack > 0) {
        out.detail = where + " refused the connection: " + mosquitto_connack_string(probe.connack);
        break;
      }
      if (probe.connack == 0 && !published) {
        const std::string topic = s.prefix + "/test";
        const std::string payload = test_json(now);
        rc = mosquitto_publish(mosq, &probe.mid, topic.c_str(), static_cast<int>(payload.size()),
                               payload.data(), 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
          out.detail = "publish to " + topic + ": " + mosquitto_strerror(rc);
          break;
        }
        published = true;
      }
      if (probe.acked) {
        out.ok = true;
        out.detail = "published to " + s.prefix + "/test on " + where +
                     (s.tls ? " over TLS" : "") + "; the broker acknowledged it";
        mosquitto_disconnect(mosq);
        for (int i = 0; i < 5 && mosquitto_loop(mosq, 20, 1) == MOSQ_ERR_SUCCESS; ++i) {
        }
        break;
      }
    }
  }
  mosquitto_destroy(mosq);
  mosquitto_lib_cleanup();
  return out;
}

NotificationTestResult send_webhook_test(const WebhookTarget& target, WallTime now) {
  const std::string body = test_json(now);
  const HttpPostResult r = http_post(target.url, webhook_headers("test", target.secret, body), body,
                                     target.timeout, target.ca_file);
  const std::string where = redact_url(target.url);
  if (r.status >= 200 && r.status < 300) {
    return {true, where + " answered HTTP " + std::to_string(r.status)};
  }
  if (r.status != 0) return {false, where + " answered HTTP " + std::to_string(r.status)};
  return {false, where + ": " + r.error};
}

}  // namespace vigil
