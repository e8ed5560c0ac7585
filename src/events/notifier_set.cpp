#include "events/notifier_set.h"

#include <spdlog/spdlog.h>

namespace vigil {

NotifierSet::NotifierSet(ComponentRegistry* components)
    : retirer_(components, {"notifier-retire", "", ""}, "notify-retire") {
  retirer_.start([this] { run_retiring(); },
                 [this](const std::string&) {
                   // The notifier being retired is gone (its stop() or stats() threw).
                   std::lock_guard lock(mu_);
                   retiring_busy_ = false;
                   idle_cv_.notify_all();
                 });
}

NotifierSet::~NotifierSet() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (webhooks_) retiring_.push_back(std::move(webhooks_));
  }
  cv_.notify_all();
  retirer_.stop();
  set_mqtt(nullptr);
}

void NotifierSet::notify(const EventNotice& n) {
  // The notifiers only queue; they are called outside the lock so that a replacement never
  // waits behind a notice (and the shared_ptrs keep a replaced one alive until it returns).
  std::shared_ptr<MqttNotifier> mqtt;
  std::shared_ptr<WebhookNotifier> hooks;
  {
    std::lock_guard lock(mu_);
    mqtt = mqtt_;
    hooks = webhooks_;
  }
  if (mqtt) mqtt->notify(n);
  if (hooks) hooks->notify(n);
}

void NotifierSet::notify_problem(const ProblemNotice& n) {
  if (auto mqtt = this->mqtt()) mqtt->notify_problem(n);
  if (auto hooks = webhooks()) hooks->notify_problem(n);
}

void NotifierSet::set_mqtt(std::unique_ptr<MqttNotifier> next) {
  std::shared_ptr<MqttNotifier> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(mqtt_);
  }
  if (old) {
    const uint64_t queued = old->stats().queued;
    old.reset();  // the last owner unless a notify() is running: then it stops when that returns
    std::lock_guard lock(mu_);
    retired_dropped_ += queued;
  }
  std::lock_guard lock(mu_);
  mqtt_ = std::move(next);
}

void NotifierSet::set_webhooks(std::unique_ptr<WebhookNotifier> next) {
  {
    std::lock_guard lock(mu_);
    if (webhooks_) retiring_.push_back(std::move(webhooks_));
    webhooks_ = std::move(next);
  }
  cv_.notify_all();
}

std::shared_ptr<MqttNotifier> NotifierSet::mqtt() const {
  std::lock_guard lock(mu_);
  return mqtt_;
}

std::shared_ptr<WebhookNotifier> NotifierSet::webhooks() const {
  std::lock_guard lock(mu_);
  return webhooks_;
}

uint64_t NotifierSet::retired_dropped() const {
  std::lock_guard lock(mu_);
  return retired_dropped_;
}

void NotifierSet::wait_retired() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return retiring_.empty() && !retiring_busy_; });
}

void NotifierSet::run_retiring() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !retiring_.empty(); });
    if (retiring_.empty()) break;  // stopping and nothing left
    std::shared_ptr<WebhookNotifier> old = std::move(retiring_.front());
    retiring_.pop_front();
    retiring_busy_ = true;
    lock.unlock();
    old->stop();
    uint64_t dropped = 0;
    for (const WebhookStats& s : old->stats()) dropped += s.dropped_stopped;
    if (dropped) spdlog::info("webhooks: {} notice(s) of replaced targets dropped", dropped);
    old.reset();
    lock.lock();
    retired_dropped_ += dropped;
    retiring_busy_ = false;
    idle_cv_.notify_all();
  }
}

}  // namespace vigil
