#include "app/tsa_stamper.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/redact.h"
#include "events/http_post.h"
#include "integrity/tsa.h"

namespace vigil {
namespace {

// Enough for a minute of checkpoints from hundreds of cameras; the rest waits a pass.
constexpr size_t kBatchLimit = 1000;

}  // namespace

TsaStamper::TsaStamper(const TsaSettings& settings, Catalog& catalog, const Clock& clock,
                       ComponentRegistry* components)
    : settings_(settings),
      catalog_(catalog),
      clock_(clock),
      thread_(components, {"tsa", "", redact_url(settings.url)}, "tsa") {
  status_.url = redact_url(settings_.url);
}

TsaStamper::~TsaStamper() { stop(); }

void TsaStamper::start() {
  const int64_t last = catalog_.last_checkpoint_id();
  done_up_to_ = settings_.backlog.count() > 0
                    ? catalog_.checkpoint_backlog_start(clock_.wall_now() - settings_.backlog,
                                                        settings_.backlog_max)
                    : last;
  spdlog::info("tsa: timestamping checkpoints at {} every {} s ({} made in the last {} h "
               "before this start looked at again)",
               status_.url, settings_.batch_period.count(), last - done_up_to_,
               settings_.backlog.count());
  thread_.start([this] {
    std::chrono::milliseconds backoff{1000};
    std::chrono::milliseconds wait = settings_.batch_period;
    while (thread_.wait_for(wait)) {
      if (run_batch()) {
        backoff = std::chrono::milliseconds(1000);
        wait = settings_.batch_period;
      } else {
        // Retry sooner than the next batch, but back off while the TSA stays down.
        wait = std::min<std::chrono::milliseconds>(backoff, settings_.batch_period);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, settings_.batch_period);
      }
    }
  });
}

void TsaStamper::stop() { thread_.stop(); }

TsaStatus TsaStamper::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

bool TsaStamper::run_batch() {
  const std::vector<CheckpointRow> rows =
      catalog_.checkpoints_without_token(done_up_to_, kBatchLimit);
  const std::optional<std::filesystem::path> ca =
      settings_.ca_file.empty() ? std::nullopt : std::optional(settings_.ca_file);
  size_t next = 0;
  int64_t granted = 0, given_up = 0, failed = 0;
  std::string error;
  std::optional<WallTime> last_time;
  for (; next < rows.size(); ++next) {
    const CheckpointRow& row = rows[next];
    const bool expired = clock_.wall_now() - row.checkpoint.wall_time > settings_.retry_for;
    // Once the TSA failed in this batch, expired ones are given up without another request.
    if (!error.empty() && !expired) break;
    std::string problem;
    if (error.empty()) {
      const TsaRequest req = make_tsa_request(checkpoint_message(row.checkpoint));
      const HttpPostResult res = http_post(
          settings_.url,
          {{"Content-Type", "application/timestamp-query"},
           {"Accept", "application/timestamp-reply"}},
          std::string(req.der.begin(), req.der.end()),
          std::chrono::duration_cast<std::chrono::milliseconds>(settings_.timeout));
      if (res.status == 0) {
        problem = res.error;
      } else if (res.status != 200) {
        problem = "HTTP status " + std::to_string(res.status);
      } else {
        const TsaReplyCheck check =
            check_tsa_reply(Bytes(res.body.begin(), res.body.end()), req, ca);
        if (check.problem.empty()) {
          catalog_.set_checkpoint_tsa_token(row.id, Bytes(res.body.begin(), res.body.end()));
          done_up_to_ = row.id;
          last_time = check.time;
          ++granted;
          continue;
        }
        problem = check.problem;
      }
      ++failed;
      error = problem;
    }
    if (!expired) break;
    // Kept untimestamped: its token was retried for tsa_retry_seconds.
    done_up_to_ = row.id;
    ++given_up;
  }
  const auto pending = static_cast<int64_t>(rows.size() - next);
  bool was_failing = false;
  {
    std::lock_guard lock(mu_);
    was_failing = !status_.last_error.empty();
    status_.timestamped += granted;
    status_.untimestamped += given_up;
    status_.failed_requests += failed;
    status_.pending = pending;
    if (last_time) status_.last_token_at = last_time;
    if (!error.empty()) {
      status_.last_error = error;
    } else if (granted) {
      status_.last_error.clear();
    }
  }
  // One line per outage and per recovery, not one per retry.
  if (!error.empty() && !was_failing) {
    spdlog::warn("tsa: no timestamp token from {}: {} (retrying; recording goes on)",
                 status_.url, error);
  } else if (error.empty() && granted && was_failing) {
    spdlog::info("tsa: {} grants timestamp tokens again", status_.url);
  }
  if (given_up) {
    spdlog::warn("tsa: {} checkpoint(s) kept without a timestamp token: {} did not grant one "
                 "within {} s ({})",
                 given_up, status_.url, settings_.retry_for.count(), error);
  }
  return error.empty() && next == rows.size();
}

}  // namespace vigil
