// Loss-prevention rules of a till ([till.rules], docs/transactions.md "Exceptions"): a refund or
// void above an amount, a no_sale (the drawer opened without a sale), a transaction outside
// opening hours, more than N refunds or voids within M minutes, a drawer left open longer than N
// seconds, and a transaction while no motion was seen in the counter camera's customer-side zone.
// Each broken rule raises an event of type "transaction" on every camera of the till at the
// transaction's moment, through the existing event engine (stored, on the timeline, notified
// when the schedule arms it).
//
// The last two rules need time to pass after the moment (the drawer may still close; the
// customer's motion after the payment is not analysed yet), so they are judged by a sweep every
// second on a thread of their own ("till-rules") as well as when the transaction arrives, if it
// arrives late, and (drawer) when the drawer_close arrives. Each (rule, transaction) raises at
// most once in a run of vigil.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/supervision.h"
#include "events/time_zone.h"
#include "transactions/store.h"

namespace vigil::transactions {

// "12.50" for 1250 minor units (two decimals: the rules are written in minor units).
std::string format_minor(int64_t minor);

// The rules `t` breaks, each as the reason an event carries. Pure. `refunds_and_voids` counts
// the till's refunds and voids in the burst window up to and including `t`; `local_time` is the
// moment's time of day in the events' time zone.
std::vector<std::string> broken_rules(const TillRules& rules, const Transaction& t,
                                      int refunds_and_voids, std::chrono::minutes local_time);

// How long after the end of its window a transaction's customer-zone motion is judged: motion
// events are written when the analyser has seen the motion last for a while (min_duration_ms,
// keyframe spacing while idle, the event writer's queue).
constexpr std::chrono::seconds kMotionSettle{10};

class ExceptionRules {
 public:
  // Raises one event: what EventEngine::raise_instant(camera, "transaction", at, reason) does.
  using RaiseFn =
      std::function<void(const std::string& camera, WallTime at, const std::string& reason)>;
  // Whether motion was seen in `zone` of `camera` at some time in [from, to]: a stored event of
  // type "motion" naming the zone that overlaps it (EventStore::find).
  using MotionFn = std::function<bool(const std::string& camera, const std::string& zone,
                                      WallTime from, WallTime to)>;
  // `store` must outlive this. Thread-safe (the store is; the rest is behind a mutex).
  // `started`: the delayed rules' first sweep looks back from here. Without `motion` the
  // customer-zone rule is not judged.
  ExceptionRules(TransactionStore& store, RaiseFn raise, WallTime started, MotionFn motion = {});
  ~ExceptionRules();

  // Judges `t`, just stored, under its till's rules at `now` and raises the events. Returns the
  // reasons.
  std::vector<std::string> judge(const Transaction& t, const TillConfig& till, const TimeZone& tz,
                                 WallTime now);
  // The delayed rules for everything whose time came since the last sweep: drawers opened more
  // than drawer_open_seconds ago without a close, transactions whose customer window (plus
  // kMotionSettle) has passed. Returns the reasons raised.
  std::vector<std::string> sweep(const Config& config, WallTime now);
  // Sweeps every second on a supervised thread "till-rules" until destroyed.
  void start(std::function<std::shared_ptr<const Config>()> config, const Clock& clock,
             ComponentRegistry* registry);

 private:
  // Each judges one rule for `t` if its time has come at `now`; raise() says whether to.
  void judge_drawer_open(const Transaction& open, const TillConfig& till, WallTime now,
                         std::vector<std::string>& out);
  void judge_customer(const Transaction& t, const TillConfig& till, WallTime now,
                      std::vector<std::string>& out);
  // Raises `reason` for `t` on the till's cameras unless (rule, t) raised already ('d' drawer,
  // 'c' customer; 0: the immediate rules, never twice because they are judged once).
  void raise(const Transaction& t, const TillConfig& till, char rule, const std::string& reason,
             std::vector<std::string>& out);

  TransactionStore& store_;
  RaiseFn raise_;
  MotionFn motion_;
  std::mutex mu_;
  WallTime swept_until_;                        // the last sweep's `now`
  std::set<std::pair<int64_t, char>> raised_;   // (transaction id, rule) raised in this run
  std::unique_ptr<SupervisedThread> thread_;    // last: stops first
};

// Whether a drawer opened at `open` broke `limit`, given whether a drawer_close is stored within
// [open, open + limit]; nullopt while it may still close in time (at `now`).
std::optional<bool> drawer_left_open(WallTime open, bool closed_within_limit, WallTime now,
                                     std::chrono::seconds limit);
// The kinds the customer-zone rule judges: money or the drawer moved for a customer.
bool needs_customer(Kind k);

}  // namespace vigil::transactions
