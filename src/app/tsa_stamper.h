// The tsa stamper: gets RFC 3161 timestamp tokens for signed checkpoints from the TSA at
// [integrity] tsa_url, on its own supervised thread ("tsa"), never on a camera's reader or
// writer thread. Recorders store checkpoints as before; the stamper wakes every
// tsa_batch_seconds, sends one request per checkpoint stored since its last pass (all cameras
// in one batch) and writes each granted token into the checkpoint's row.
//
// A TSA that is down, slow or answers wrongly never blocks recording: the batch is retried
// with a capped exponential backoff (1 s, 2 s, ... up to tsa_batch_seconds); a checkpoint
// still without a token tsa_retry_seconds after it was made is kept untimestamped, counted,
// and logged with the URL. status() feeds status.json and /metrics.
// Checkpoints stored before the stamper started (vigil was stopped or restarted, or tsa_url
// was unset) and still without a token are requested at start too, within a bound: those made
// in the last tsa_backlog_hours, at most tsa_backlog_max of them (the newest). A token made
// later proves less than one made at once (it proves existence at the TSA's later time), but
// still more than none; the bound keeps an archive's backlog from flooding the TSA. The backlog
// goes out in the normal batches, and, like any checkpoint older than tsa_retry_seconds, is
// given up on (kept untimestamped) at the first failed request.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"

namespace vigil {

struct TsaStatus {
  std::string url;             // redacted
  int64_t timestamped = 0;     // tokens granted and stored since start
  int64_t untimestamped = 0;   // checkpoints given up on since start (kept without a token)
  int64_t pending = 0;         // stored, no token yet, still retried
  int64_t failed_requests = 0; // requests that got no usable token, since start
  std::string last_error;      // of the last failed request; "" once one succeeds again
  std::optional<WallTime> last_token_at;  // the TSA's time in the last token
};

class TsaStamper {
 public:
  // `settings.url` must be set. All references must outlive the stamper.
  TsaStamper(const TsaSettings& settings, Catalog& catalog, const Clock& clock,
             ComponentRegistry* components);
  ~TsaStamper();  // stop()
  TsaStamper(const TsaStamper&) = delete;
  TsaStamper& operator=(const TsaStamper&) = delete;

  // Requests tokens for checkpoints stored from now on, and for the backlog (above).
  void start();
  void stop();
  TsaStatus status() const;

  // One batch: a token for every pending checkpoint, in order, until a request fails. True when
  // none is left pending. Called by the thread; public for tests.
  bool run_batch();

 private:
  const TsaSettings settings_;
  Catalog& catalog_;
  const Clock& clock_;
  // Checkpoints up to this id are done: they have a token or were given up on. Only the
  // stamper's thread touches it (set in start(), before the thread runs).
  int64_t done_up_to_ = 0;
  mutable std::mutex mu_;
  TsaStatus status_;  // guarded by mu_
  SupervisedThread thread_;
};

}  // namespace vigil
