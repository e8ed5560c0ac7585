// Loss-prevention rules of a till ([till.rules], docs/transactions.md "Exceptions"): a refund or
// void above an amount, a no_sale (the drawer opened without a sale), a transaction outside
// opening hours, more than N refunds or voids within M minutes. Each broken rule raises an event
// of type "transaction" on every camera of the till at the transaction's moment, through the
// existing event engine (stored, on the timeline, notified when the schedule arms it).
// Not judged (yet): a drawer left open longer than N seconds, and a transaction while no motion
// was seen in the customer-side zone.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
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

class ExceptionRules {
 public:
  // Raises one event: what EventEngine::raise_instant(camera, "transaction", at, reason) does.
  using RaiseFn =
      std::function<void(const std::string& camera, WallTime at, const std::string& reason)>;
  // `store` must outlive this. Thread-safe (the store is).
  ExceptionRules(TransactionStore& store, RaiseFn raise);

  // Judges `t`, just stored, under its till's rules and raises the events. Returns the reasons.
  std::vector<std::string> judge(const Transaction& t, const TillConfig& till, const TimeZone& tz);

 private:
  TransactionStore& store_;
  RaiseFn raise_;
};

}  // namespace vigil::transactions
