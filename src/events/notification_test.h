// "Send test" for a notification target, as the settings screen offers it: one message to the
// MQTT broker (<prefix>/test, QoS 1, waited for its PUBACK) or one signed POST to a webhook,
// sent now on the calling thread with a deadline, answering success or why not (connection
// refused, timeout, TLS failure, the broker's CONNACK refusal, the HTTP status). Independent of
// the running notifiers: a test never waits behind their queues and works for settings that are
// not saved yet.
#pragma once

#include <chrono>
#include <string>

#include "core/config.h"
#include "core/time.h"

namespace vigil {

struct NotificationTestResult {
  bool ok = false;
  std::string detail;  // for people: what happened, or why it failed
};

// Connects with `s` (login, TLS), publishes {"test": true, ...} to <prefix>/test and waits for
// the broker's acknowledgement, all within `timeout`.
NotificationTestResult send_mqtt_test(const MqttSettings& s, WallTime now,
                                      std::chrono::milliseconds timeout);

// The body of a webhook test: {"test": true, "message": ..., "at": ..., "at_ms": ...}.
std::string webhook_test_body(WallTime now);
// POSTs webhook_test_body with X-Vigil-Event: test and the target's signature, within its
// timeout_ms; success is a 2xx answer.
NotificationTestResult send_webhook_test(const WebhookTarget& target, WallTime now);

}  // namespace vigil
