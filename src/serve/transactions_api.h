// The transactions routes of the API (issue 19, docs/transactions.md): tills post transactions
// (one or a batch, with a till token), payment providers call a per-till webhook, users search
// them and read one with its receipt. Reads are audited like playback; a user sees the
// transactions of the tills whose cameras they may see. Registered by Api next to the other
// routes; thread-safe; the catalog connection is opened on first use.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "catalog/accounts.h"
#include "core/clock.h"
#include "core/config_store.h"
#include "serve/auth.h"
#include "serve/playback.h"
#include "serve/router.h"
#include "serve/snapshot.h"
#include "transactions/store.h"

namespace vigil {

class TransactionsApi {
 public:
  // Called with every transaction this API stored (not those answered as stored before), after
  // the commit, on the request's thread: the exception rules (transactions/exception_rules.h).
  using StoredFn = std::function<void(const transactions::Transaction&)>;

  // All must outlive the TransactionsApi.
  TransactionsApi(const ConfigStore& configs, AccountStore& accounts, Authenticator& auth,
                  const Clock& clock, Playback& playback);
  ~TransactionsApi();

  void add_routes(Router& router);
  // Set before the server starts.
  void on_stored(StoredFn fn) { on_stored_ = std::move(fn); }
  // Where the pictures of GET /api/transactions/{id}/picture.jpg come from. Set before the
  // server starts; without it that route answers 404.
  transactions::TransactionStore& store();
  // A receipt read by a till's printer tap: stored at its arrival (store_printed_receipt) and
  // judged by the till's rules like a posted transaction. For app to pass as the printer tap's
  // receipt callback. Any thread.
  transactions::Transaction store_printed(const transactions::PrintedReceipt& receipt);

  http::Response post(Call& call);
  http::Response webhook(Call& call);
  // The till's first camera at the transaction's moment, as a JPEG (the transactions page's rows).
  http::Response picture(Call& call);
  http::Response search(Call& call);
  http::Response get(Call& call);
  http::Response receipt(Call& call);
  // The daily summary per till (docs/transactions.md "Daily summary"): JSON, or CSV with
  // format=csv or Accept: text/csv.
  http::Response summary(Call& call);
  // Exports the till's first camera around the transaction (kClipBefore before its moment to
  // kClipAfter after it, or its last receipt line): an MP4 with the receipt as a mov_text
  // subtitle track, or with evidence=true an evidence bundle. 202 with the export job.
  http::Response clip(Call& call);

 private:
  // Stores the batch (all or nothing) and answers it; `single` answers one object.
  http::Response store_batch(Call& call, std::vector<transactions::Transaction> batch, bool single);
  // The transaction `id` if the caller may see its till; else throws NotFound.
  transactions::Transaction visible(Call& call, int64_t id);
  // `until`: the end of a range read (an evidence bundle's); without it the row is at `at`.
  void audit_read(Call& call, const std::string& action, const std::string& till,
                  std::optional<WallTime> at, const std::string& detail,
                  std::optional<WallTime> until = std::nullopt);
  // transactions.json of an evidence bundle of `camera` over [start, end), audited per till
  // (Playback::EvidenceExtrasFn).
  Playback::EvidenceExtras evidence_transactions(Call& call, const std::string& camera,
                                                 WallTime start, WallTime end);

  const ConfigStore& configs_;
  AccountStore& accounts_;
  Authenticator& auth_;
  const Clock& clock_;
  Playback& playback_;
  StoredFn on_stored_;
  std::mutex mu_;
  std::unique_ptr<transactions::TransactionStore> store_;
};

// A transaction clip's reach around the moment: the page plays from 10 s before.
constexpr WallDuration kClipBefore = std::chrono::seconds(10);
constexpr WallDuration kClipAfter = std::chrono::seconds(20);

// The receipt of `t` as captions until `end`. A printed receipt: one cue per line from its
// arrival to the next line's, each showing the receipt so far (its last 8 lines), so the
// captions fill as the printer printed. A posted one (no lines): one cue at the moment with its
// kind, method and total, line items and text.
std::vector<SubtitleCue> receipt_cues(const transactions::Transaction& t, WallTime end);

// The tills `user` may see: those with a camera the user may see (a till without cameras only
// to those who see every camera). nullopt: every till.
std::optional<std::vector<std::string>> visible_tills(const Config& config, const User& user);

}  // namespace vigil
