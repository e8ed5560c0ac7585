// The notification targets as the events stage sees them: one EventNotifier that forwards each
// notice to the MQTT notifier and the webhook notifier of the moment, which the recorder
// replaces when [mqtt] or [[webhook]] change at run time (docs/design/events.md, "Changing
// targets at run time").
//
// Replacing never waits on the network on the caller's thread for webhooks: a replaced webhook
// notifier is stopped on this class's own retiring thread (its request in flight may take up to
// its timeout), and what it still held is dropped and counted (retired_dropped()). A replaced MQTT
// notifier is stopped before the new one starts (at most ~2 s: "offline", DISCONNECT), so two
// clients with the same client id never fight over the broker's session.
// The retiring thread ("notify-retire") is supervised (core/supervision.h, component
// "notifier-retire").
// Thread-safe: notify() may run on the events writer while set_*() runs on an API thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/supervision.h"
#include "events/event_notice.h"
#include "events/mqtt_notifier.h"
#include "events/webhook_notifier.h"

namespace vigil {

class NotifierSet final : public EventNotifier, public ProblemNotifier {
 public:
  // The retiring thread's failures are reported in `components` (null: only logged).
  explicit NotifierSet(ComponentRegistry* components = nullptr);
  ~NotifierSet() override;  // stops the notifiers; joins the retiring thread
  NotifierSet(const NotifierSet&) = delete;
  NotifierSet& operator=(const NotifierSet&) = delete;

  void notify(const EventNotice& n) override;
  void notify_problem(const ProblemNotice& n) override;

  // null: no MQTT / no webhooks.
  void set_mqtt(std::unique_ptr<MqttNotifier> next);
  void set_webhooks(std::unique_ptr<WebhookNotifier> next);

  // The current MQTT notifier (for camera changes and stats); null when there is none.
  std::shared_ptr<MqttNotifier> mqtt() const;
  std::shared_ptr<WebhookNotifier> webhooks() const;
  // Messages that replaced targets still held when they were stopped.
  uint64_t retired_dropped() const;
  // Waits until every replaced notifier is stopped (tests).
  void wait_retired();

 private:
  void run_retiring();

  mutable std::mutex mu_;
  std::shared_ptr<MqttNotifier> mqtt_;
  std::shared_ptr<WebhookNotifier> webhooks_;
  std::deque<std::shared_ptr<WebhookNotifier>> retiring_;
  bool retiring_busy_ = false;
  uint64_t retired_dropped_ = 0;
  bool stopping_ = false;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  SupervisedThread retirer_;  // last: starts after everything it uses
};

}  // namespace vigil
