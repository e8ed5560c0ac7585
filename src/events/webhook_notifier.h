// Event notifications as webhooks: every start and end (of the target's types) is POSTed as the
// event JSON (event_notice_json) with
//   X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body with the target's secret>
//   X-Vigil-Event: start | end
// and every problem (ProblemNotice) as the problem JSON (problem_notice_json) with
//   X-Vigil-Event: problem_start | problem_end
// to every target whatever its `types` (those name event types; a problem stops recording and
// must reach whoever is told anything).
// Each target has its own bounded queue and thread, so a slow or dead endpoint delays only
// itself. Delivery is in order per target; an answer other than 2xx, a refused connection or a
// timeout is retried after retry_initial, doubling up to 60 s, at most max_attempts times, then
// the message is dropped and counted. Each target's thread ("webhook") is supervised
// (core/supervision.h): should sending a message throw, the message is dropped (counted as
// dropped_attempts), the target's "webhook" component reads failed, and it goes on after a
// backoff. notify() never blocks. The destructor waits for the request
// in flight (at most its timeout) and drops what is still queued (counted as such).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/supervision.h"
#include "events/event_notice.h"

namespace vigil {

struct WebhookStats {
  uint64_t delivered = 0;  // answered 2xx
  uint64_t attempts = 0;   // POSTs made, retries included
  uint64_t failed_attempts = 0;
  uint64_t dropped_full = 0;      // the queue was full
  uint64_t dropped_attempts = 0;  // every attempt failed
  uint64_t dropped_stopped = 0;   // still queued or in flight when the notifier stopped
  uint64_t queued = 0;
};

// "sha256=<hex HMAC-SHA256 of `timestamp.body`>": what X-Vigil-Signature says. The timestamp
// (Unix seconds, sent as X-Vigil-Timestamp) is signed too, so that a receiver can refuse an old
// request replayed by someone who recorded it (docs/api.md, "Event notifications").
std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body);
// The X-Vigil-Event, X-Vigil-Timestamp (now) and, with a secret, X-Vigil-Signature headers of
// one POST. Made for each attempt: a retry minutes later carries its own time.
std::vector<std::pair<std::string, std::string>> webhook_headers(const std::string& event,
                                                                 const std::string& secret,
                                                                 const std::string& body);

class WebhookNotifier final : public EventNotifier, public ProblemNotifier {
 public:
  // Failures are reported in `components` (null: only logged), which must outlive the notifier.
  explicit WebhookNotifier(std::vector<WebhookTarget> targets,
                           ComponentRegistry* components = nullptr);
  ~WebhookNotifier() override;
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  void notify(const EventNotice& n) override;
  void notify_problem(const ProblemNotice& n) override;
  // Stops every target: waits for the attempt in flight (at most its timeout), drops the rest
  // (dropped_stopped). Idempotent; stats() stays readable. The destructor calls it.
  void stop();
  // Per target, in configuration order.
  std::vector<WebhookStats> stats() const;

 private:
  struct Message {
    std::string body;
    std::string kind;  // X-Vigil-Event: "start" / "end" / "problem_start" / "problem_end"
  };
  // Queues `m` on every target that `wants` (by its configuration).
  void enqueue(const Message& m, const std::function<bool(const WebhookTarget&)>& wants);
  struct Target {
    WebhookTarget config;
    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<Message> queue;
    bool stopping = false;
    WebhookStats stats;
    std::unique_ptr<SupervisedThread> worker;  // last: stopped before the rest goes
  };
  static void run(Target& t);

  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace vigil
