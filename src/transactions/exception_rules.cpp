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

std::optional<bool> drawer_left_open(WallTime open, bool closed_within_limit, WallTime now,
                                     std::chrono::seconds limit) {
  if (closed_within_limit) return false;
  if (now - open > limit) return true;
  return std::nullopt;
}

namespace {
// raise()'s rule for the rules judged once, at arrival: several may break, none twice.
constexpr char kImmediate = 0;
}  // namespace

bool needs_customer(Kind k) {
  return k == Kind::kSale || k == Kind::kRefund || k == Kind::kVoid || k == Kind::kNoSale;
}

ExceptionRules::ExceptionRules(TransactionStore& store, RaiseFn raise, WallTime started,
                               MotionFn motion)
    : store_(store), raise_(std::move(raise)), motion_(std::move(motion)), swept_until_(started) {}

ExceptionRules::~ExceptionRules() = default;

void ExceptionRules::raise(const Transaction& t, const TillConfig& till, char rule,
                           const std::string& reason, std::vector<std::string>& out) {
  if (rule != kImmediate) {
    std::lock_guard lock(mu_);
    if (!raised_.insert({t.id, rule}).second) return;
    // Bounded: a rule is judged within a day of its moment, so the oldest ids can go.
    if (raised_.size() > 100'000) raised_.erase(raised_.begin());
  }
  const std::string text =
      "till " + till.id + ": " + reason + " (transaction " + std::to_string(t.id) + ")";
  for (const std::string& camera : till.cameras) raise_(camera, t.moment, text);
  out.push_back(reason);
}

void ExceptionRules::judge_drawer_open(const Transaction& open, const TillConfig& till,
                                       WallTime now, std::vector<std::string>& out) {
  const auto limit = till.rules.drawer_open_limit;
  if (limit.count() == 0 || open.kind != Kind::kDrawerOpen) return;
  const bool closed = !store_.between(till.id, open.moment - WallDuration(1), open.moment + limit,
                                      Kind::kDrawerClose)
                           .empty();
  if (drawer_left_open(open.moment, closed, now, limit).value_or(false)) {
    raise(open, till, 'd', "drawer open longer than " + std::to_string(limit.count()) + " s", out);
  }
}

void ExceptionRules::judge_customer(const Transaction& t, const TillConfig& till, WallTime now,
                                    std::vector<std::string>& out) {
  const TillRules& r = till.rules;
  if (r.customer_zone.empty() || !motion_ || till.cameras.empty() || !needs_customer(t.kind)) {
    return;
  }
  if (now < t.moment + r.customer_window + kMotionSettle) return;  // the sweep judges it later
  if (!motion_(till.cameras.front(), r.customer_zone, t.moment - r.customer_window,
               t.moment + r.customer_window)) {
    raise(t, till, 'c',
          std::string(kind_name(t.kind)) + " with no motion in zone " + r.customer_zone + " within " +
              std::to_string(r.customer_window.count()) + " s",
          out);
  }
}

std::vector<std::string> ExceptionRules::judge(const Transaction& t, const TillConfig& till,
                                               const TimeZone& tz, WallTime now) {
  int burst = 0;
  if (till.rules.burst_count > 0 && (t.kind == Kind::kRefund || t.kind == Kind::kVoid)) {
    burst = store_.count_refunds_and_voids(t.till_id, t.moment - till.rules.burst_window, t.moment);
  }
  const auto local = t.moment + tz.offset_at(t.moment);
  const auto since_midnight = local.time_since_epoch() % std::chrono::days(1);
  const auto minute = std::chrono::floor<std::chrono::minutes>(
      since_midnight < WallDuration::zero() ? since_midnight + std::chrono::days(1) : since_midnight);
  std::vector<std::string> out;
  for (const std::string& reason : broken_rules(till.rules, t, burst, minute)) {
    raise(t, till, kImmediate, reason, out);
  }
  // A drawer posted late is judged now; a close judges the drawer it closes (a close after the
  // limit: the sweep may have raised it already, raise() keeps it to one event).
  judge_drawer_open(t, till, now, out);
  if (t.kind == Kind::kDrawerClose && till.rules.drawer_open_limit.count() > 0) {
    if (auto open = store_.latest(till.id, Kind::kDrawerOpen, t.moment)) {
      judge_drawer_open(*open, till, now, out);
    }
  }
  judge_customer(t, till, now, out);
  return out;
}

std::vector<std::string> ExceptionRules::sweep(const Config& config, WallTime now) {
  WallTime since;
  {
    std::lock_guard lock(mu_);
    since = swept_until_;
    swept_until_ = now;
  }
  std::vector<std::string> out;
  if (now <= since) return out;
  for (const TillConfig& till : config.tills) {
    const TillRules& r = till.rules;
    // Those whose limit passed since the last sweep; earlier ones were judged then, or when
    // they arrived late.
    if (r.drawer_open_limit.count() > 0) {
      for (const Transaction& open : store_.between(till.id, since - r.drawer_open_limit,
                                                    now - r.drawer_open_limit, Kind::kDrawerOpen)) {
        judge_drawer_open(open, till, now, out);
      }
    }
    if (!r.customer_zone.empty()) {
      const auto wait = r.customer_window + kMotionSettle;
      for (const Transaction& t : store_.between(till.id, since - wait, now - wait)) {
        judge_customer(t, till, now, out);
      }
    }
  }
  return out;
}

void ExceptionRules::start(std::function<std::shared_ptr<const Config>()> config, const Clock& clock,
                           ComponentRegistry* registry) {
  thread_ = std::make_unique<SupervisedThread>(registry, ComponentId{"till-rules", "", ""}, "till-rules");
  thread_->start([this, config = std::move(config), &clock] {
    while (thread_->wait_for(std::chrono::seconds(1))) sweep(*config(), clock.wall_now());
  });
}

}  // namespace vigil::transactions
