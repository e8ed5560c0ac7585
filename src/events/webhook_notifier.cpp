#include "events/webhook_notifier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/redact.h"
#include "core/text.h"
#include "events/http_post.h"

namespace vigil {

std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body) {
  const std::string signed_text = timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  static const char* const kHex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> webhook_headers(const std::string& event,
                                                                 const std::string& secret,
                                                                 const std::string& body) {
  // The real time of sending, not an injected clock: the receiver compares it with its own.
  const std::string timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count());
  std::vector<std::pair<std::string, std::string>> headers = {{"X-Vigil-Event", event},
                                                              {"X-Vigil-Timestamp", timestamp}};
  if (!secret.empty()) {
    headers.emplace_back("X-Vigil-Signature", webhook_signature(secret, timestamp, body));
  }
  return headers;
}

WebhookNotifier::WebhookNotifier(std::vector<WebhookTarget> targets,
                                 ComponentRegistry* components) {
  for (auto& c : targets) {
    auto t = std::make_unique<Target>();
    t->config = std::move(c);
    t->worker = std::make_unique<SupervisedThread>(
        components, ComponentId{"webhook", "", redact_url(t->config.url)}, "webhook");
    targets_.push_back(std::move(t));
  }
  for (auto& t : targets_) {
    Target* raw = t.get();
    raw->worker->start([raw] { run(*raw); },
                       [raw](const std::string&) {
                         // The message being sent failed in a way no retry mends.
                         std::lock_guard lock(raw->mu);
                         if (raw->queue.empty()) return;
                         raw->queue.pop_front();
                         ++raw->stats.dropped_attempts;
                       });
  }
}

WebhookNotifier::~WebhookNotifier() { stop(); }

void WebhookNotifier::stop() {
  for (auto& t : targets_) {
    std::lock_guard lock(t->mu);
    t->stopping = true;
    t->cv.notify_all();
  }
  for (auto& t : targets_) t->worker->stop();
}

void WebhookNotifier::notify(const EventNotice& n) {
  enqueue({to_json_text(event_notice_json(n)),
           n.kind == EventNotice::Kind::kStart ? "start" : "end"},
          [&](const WebhookTarget& c) {
            return c.types.empty() ||
                   std::find(c.types.begin(), c.types.end(), n.type) != c.types.end();
          });
}

void WebhookNotifier::notify_problem(const ProblemNotice& n) {
  enqueue({to_json_text(problem_notice_json(n)),
           n.kind == ProblemNotice::Kind::kStart ? "problem_start" : "problem_end"},
          [](const WebhookTarget&) { return true; });
}

void WebhookNotifier::enqueue(const Message& m,
                              const std::function<bool(const WebhookTarget&)>& wants) {
  for (auto& t : targets_) {
    if (!wants(t->config)) continue;
    std::lock_guard lock(t->mu);
    if (t->stopping) {
      ++t->stats.dropped_stopped;
      continue;
    }
    if (t->queue.size() >= t->config.queue_limit) {
      ++t->stats.dropped_full;
      continue;
    }
    t->queue.push_back(m);
    t->cv.notify_one();
  }
}

std::vector<WebhookStats> WebhookNotifier::stats() const {
  std::vector<WebhookStats> out;
  for (const auto& t : targets_) {
    std::lock_guard lock(t->mu);
    WebhookStats s = t->stats;
    s.queued = t->queue.size();
    out.push_back(s);
  }
  return out;
}

void WebhookNotifier::run(Target& t) {
  constexpr std::chrono::milliseconds kMaxBackoff{60'000};
  const std::string where = redact_url(t.config.url);
  std::unique_lock lock(t.mu);
  while (true) {
    t.cv.wait(lock, [&] { return t.stopping || !t.queue.empty(); });
    if (t.stopping) break;
    const Message m = t.queue.front();
    lock.unlock();
    std::chrono::milliseconds backoff = t.config.retry_initial;
    bool delivered = false;
    int attempt = 0;
    for (; attempt < t.config.max_attempts; ++attempt) {
      const HttpPostResult r = http_post(t.config.url, webhook_headers(m.kind, t.config.secret, m.body),
                                         m.body, t.config.timeout, t.config.ca_file);
      delivered = r.status >= 200 && r.status < 300;
      lock.lock();
      ++t.stats.attempts;
      if (!delivered) ++t.stats.failed_attempts;
      lock.unlock();
      if (delivered) break;
      spdlog::warn("webhook {}: attempt {} of {}: {}", where, attempt + 1, t.config.max_attempts,
                   r.status ? "HTTP " + std::to_string(r.status) : r.error);
      if (attempt + 1 == t.config.max_attempts) break;
      lock.lock();
      // Waits the backoff unless told to stop.
      if (t.cv.wait_for(lock, backoff, [&] { return t.stopping; })) break;
      lock.unlock();
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    if (!lock.owns_lock()) lock.lock();
    if (t.stopping && !delivered) break;
    t.queue.pop_front();
    if (delivered) {
      ++t.stats.delivered;
    } else {
      ++t.stats.dropped_attempts;
      spdlog::error("webhook {}: {} event dropped after {} attempts", where, m.kind,
                    t.config.max_attempts);
    }
  }
  // Stopping: what is left is not sent.
  t.stats.dropped_stopped += t.queue.size();
  t.queue.clear();
}

}  // namespace vigil
