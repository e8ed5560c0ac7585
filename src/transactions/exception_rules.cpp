// Exception rules of a till (exception_rules.h).
#include "transactions/exception_rules.h"

#include <cstdlib>

namespace vigil::transactions {

std::string format_minor(int64_t minor) {
  const int64_t a = std::llabs(minor);
  std::string cents = std::to_string(a % 100);
  if (cents.size() < 2) cents = "0" + cents;
  return (minor < 0 ? "-" : "") + std::to_string(a / 100) + "." + cents;
}

std::vector<std::string> broken_rules(const TillRules& rules, const Transaction& t,
                                      int refunds_and_voids, std::chrono::minutes local_time) {
  std::vector<std::string> out;
  const int64_t total = t.total_minor ? std::llabs(*t.total_minor) : 0;
  if (t.kind == Kind::kRefund && rules.refund_above_minor && total > *rules.refund_above_minor) {
    out.push_back("refund of " + format_minor(total) + " above " +
                  format_minor(*rules.refund_above_minor));
  }
  if (t.kind == Kind::kVoid && rules.void_above_minor && total > *rules.void_above_minor) {
    out.push_back("void of " + format_minor(total) + " above " +
                  format_minor(*rules.void_above_minor));
  }
  if (t.kind == Kind::kNoSale && rules.no_sale) out.push_back("no sale: drawer opened");
  if (rules.open_from && rules.open_to) {
    const auto from = *rules.open_from, to = *rules.open_to;
    // to <= from: open past midnight (18:00-02:00).
    const bool open = from < to ? (local_time >= from && local_time < to)
                                : (local_time >= from || local_time < to);
    if (!open) out.push_back(std::string(kind_name(t.kind)) + " outside opening hours");
  }
  if (rules.burst_count > 0 && (t.kind == Kind::kRefund || t.kind == Kind::kVoid) &&
      refunds_and_voids > rules.burst_count) {
    out.push_back(std::to_string(refunds_and_voids) + " refunds and voids within " +
                  std::to_string(rules.burst_window.count()) + " minutes");
  }
  return out;
}

ExceptionRules::ExceptionRules(TransactionStore& store, RaiseFn raise)
    : store_(store), raise_(std::move(raise)) {}

std::vector<std::string> ExceptionRules::judge(const Transaction& t, const TillConfig& till,
                                               const TimeZone& tz) {
  int burst = 0;
  if (till.rules.burst_count > 0 && (t.kind == Kind::kRefund || t.kind == Kind::kVoid)) {
    burst = store_.count_refunds_and_voids(t.till_id, t.moment - till.rules.burst_window, t.moment);
  }
  const auto local = t.moment + tz.offset_at(t.moment);
  const auto since_midnight = local.time_since_epoch() % std::chrono::days(1);
  const auto minute = std::chrono::floor<std::chrono::minutes>(
      since_midnight < WallDuration::zero() ? since_midnight + std::chrono::days(1) : since_midnight);
  auto reasons = broken_rules(till.rules, t, burst, minute);
  for (const std::string& reason : reasons) {
    const std::string text = "till " + till.id + ": " + reason + " (transaction " +
                             std::to_string(t.id) + ")";
    for (const std::string& camera : till.cameras) raise_(camera, t.moment, text);
  }
  return reasons;
}

}  // namespace vigil::transactions
