#include "serve/transactions_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "events/time_zone.h"
#include "serve/api_request.h"
#include "transactions/evidence.h"
#include "transactions/exception_rules.h"
#include "transactions/transaction_json.h"
#include "transactions/webhook.h"

namespace vigil {

using http::Response;
using json = nlohmann::json;
using transactions::Transaction;

namespace {

constexpr size_t kMaxBatch = 500;
constexpr int64_t kMaxMs = int64_t{1} << 52;
// 500 transactions with their items and texts: the default body limit (1 MiB) is too small.
constexpr uint64_t kBatchBodyLimit = 16 * 1024 * 1024;

// Whether the caller may post for `till`: a till token that names it, or an admin.
void check_may_post(const Principal& p, const std::string& till) {
  if (p.via == Principal::Via::kToken && p.token_scope == TokenScope::kTill) {
    if (std::find(p.token_tills.begin(), p.token_tills.end(), till) == p.token_tills.end()) {
      throw Error(ErrorCode::kPermissionDenied, "this till token may not post for till " + till);
    }
    return;
  }
  if (p.user.role != Role::kAdmin) {
    throw Error(ErrorCode::kPermissionDenied, "posting transactions needs a till token or the admin role");
  }
}

// A summary covers at most a year of days (366 rows per till).
constexpr int kMaxSummaryDays = 366;

// "2026-12-01" as a calendar day; nullopt unless exactly that form and a real date.
std::optional<std::chrono::sys_days> parse_day(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{std::stoi(s.substr(0, 4))},
                                        std::chrono::month{static_cast<unsigned>(std::stoi(s.substr(5, 2)))},
                                        std::chrono::day{static_cast<unsigned>(std::stoi(s.substr(8, 2)))}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd};
}

std::string format_day(std::chrono::sys_days d) {
  const std::chrono::year_month_day ymd{d};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// The instant of local midnight at the start of `day` in `tz`. The offset is asked at the
// naive instant first and again at the result, so a day that starts just after a DST change
// starts at the right hour.
WallTime local_midnight(std::chrono::sys_days day, const TimeZone& tz) {
  const WallTime naive{std::chrono::duration_cast<WallDuration>(day.time_since_epoch())};
  const WallTime guess = naive - tz.offset_at(naive);
  return naive - tz.offset_at(guess);
}

bool may_see(const std::optional<std::vector<std::string>>& tills, const std::string& till) {
  return !tills || std::find(tills->begin(), tills->end(), till) != tills->end();
}

}  // namespace

std::optional<std::vector<std::string>> visible_tills(const Config& config, const User& user) {
  if (user.sees_all_cameras()) return std::nullopt;
  std::vector<std::string> out;
  for (const TillConfig& t : config.tills) {
    if (std::any_of(t.cameras.begin(), t.cameras.end(),
                    [&user](const std::string& c) { return user.may_see_camera(c); })) {
      out.push_back(t.id);
    }
  }
  return out;
}

TransactionsApi::TransactionsApi(const ConfigStore& configs, AccountStore& accounts,
                                 Authenticator& auth, const Clock& clock, Playback& playback)
    : configs_(configs), accounts_(accounts), auth_(auth), clock_(clock), playback_(playback) {
  playback_.set_evidence_extras([this](Call& call, const std::string& camera, WallTime start,
                                       WallTime end) {
    return evidence_transactions(call, camera, start, end);
  });
}

std::vector<SubtitleCue> receipt_cues(const Transaction& t, WallTime end) {
  constexpr size_t kShown = 8;
  std::vector<SubtitleCue> cues;
  if (t.receipt.empty()) {
    std::string text = std::string(transactions::kind_name(t.kind));
    if (t.method) text += std::string(" ") + transactions::method_name(*t.method);
    if (t.total_minor) text += " " + transactions::format_minor(*t.total_minor);
    if (!t.currency.empty()) text += " " + t.currency;
    if (!t.reference.empty()) text += "  #" + t.reference;
    size_t shown = 0;
    for (const transactions::LineItem& i : t.items) {
      if (++shown > kShown) {
        text += "\n...";
        break;
      }
      std::ostringstream qty;
      qty << i.quantity;
      text += "\n" + qty.str() + " x " + i.text;
      if (i.unit_minor) text += "  " + transactions::format_minor(*i.unit_minor);
    }
    if (!t.text.empty()) text += "\n" + t.text;
    if (t.moment < end) cues.push_back({t.moment, end, text});
    return cues;
  }
  for (size_t i = 0; i < t.receipt.size(); ++i) {
    const WallTime from = t.receipt[i].at;
    const WallTime to = i + 1 < t.receipt.size() ? std::min(t.receipt[i + 1].at, end) : end;
    if (from >= to) continue;  // lines of one burst: the next cue shows them
    std::string text;
    for (size_t k = i + 1 > kShown ? i + 1 - kShown : 0; k <= i; ++k) {
      text += (text.empty() ? "" : "\n") + t.receipt[k].text;
    }
    cues.push_back({from, to, text});
  }
  return cues;
}

TransactionsApi::~TransactionsApi() = default;

transactions::TransactionStore& TransactionsApi::store() {
  std::lock_guard lock(mu_);
  if (!store_) {
    store_ =
        std::make_unique<transactions::TransactionStore>(configs_.current()->catalog_location());
  }
  return *store_;
}

void TransactionsApi::add_routes(Router& router) {
  // Posting: till tokens (their tills only; checked by the handler) and admins.
  Route post;
  post.method = "POST";
  post.pattern = "/api/transactions";
  post.access.till_scope = true;  // and any user of at least the viewer role (the default)
  post.body_limit = kBatchBodyLimit;
  post.handler = [this](Call& c) { return this->post(c); };
  router.add(std::move(post));
  add_route(router, this, "GET", "/api/transactions/{id:int}/picture.jpg",
            Access{true, Role::kViewer, ""}, &TransactionsApi::picture);
  // A provider authenticates by its signature (webhook_secret), else by a till token: the route
  // itself lets anyone in and the handler decides.
  Route hook;
  hook.method = "POST";
  hook.pattern = "/api/transactions/webhook/{till:camera}";
  hook.access = Access{false, Role::kViewer, ""};
  hook.handler = [this](Call& c) { return this->webhook(c); };
  router.add(std::move(hook));
  add_route(router, this, "GET", "/api/transactions", Access{true, Role::kViewer, ""},
            &TransactionsApi::search);
  add_route(router, this, "GET", "/api/transactions/summary", Access{true, Role::kViewer, ""},
            &TransactionsApi::summary);
  add_route(router, this, "GET", "/api/transactions/{id:int}", Access{true, Role::kViewer, ""},
            &TransactionsApi::get);
  add_route(router, this, "POST", "/api/transactions/{id:int}/clip",
            Access{true, Role::kOperator, ""}, &TransactionsApi::clip);
  add_route(router, this, "GET", "/api/transactions/{id:int}/receipt",
            Access{true, Role::kViewer, ""}, &TransactionsApi::receipt);
}

Response TransactionsApi::store_batch(Call& call, std::vector<Transaction> batch, bool single) {
  const auto config = configs_.current();
  const WallTime now = clock_.wall_now();
  for (size_t i = 0; i < batch.size(); ++i) {
    Transaction& t = batch[i];
    const std::string where = single ? "" : "transactions[" + std::to_string(i) + "].";
    if (call.principal) check_may_post(*call.principal, t.till_id);
    const TillConfig* till = config->find_till(t.till_id);
    if (!till) throw Error(ErrorCode::kNotFound, where + "till: no till " + t.till_id);
    // The till's clock corrected by its offset; a till that sends no time gets the arrival.
    t.moment = t.till_time ? *t.till_time + till->clock_offset : now;
  }
  const auto stored = store().add(batch, now);
  json rows = json::array();
  bool any_created = false;
  for (const auto& s : stored) {
    json row = transactions::to_json(s.row, false);
    row["created"] = s.created;
    rows.push_back(std::move(row));
    any_created = any_created || s.created;
    if (s.created && on_stored_) on_stored_(s.row);
  }
  spdlog::info("transactions: {} posted, {} new (from {})", stored.size(),
               std::count_if(stored.begin(), stored.end(), [](const auto& s) { return s.created; }),
               call.request.remote_address);
  if (single) return Response::json(any_created ? 201 : 200, rows.front());
  return Response::json(any_created ? 201 : 200, {{"transactions", rows}});
}

Transaction TransactionsApi::store_printed(const transactions::PrintedReceipt& receipt) {
  const Transaction t = transactions::store_printed_receipt(store(), receipt, clock_.wall_now());
  if (on_stored_) on_stored_(t);
  return t;
}

Response TransactionsApi::post(Call& call) {
  const json body = parse_body(call);
  std::vector<Transaction> batch;
  const bool single = !body.contains("transactions");
  if (single) {
    auto p = transactions::parse_transaction(body, "");
    if (!p.value) throw Error(ErrorCode::kInvalidArgument, p.error);
    batch.push_back(std::move(*p.value));
  } else {
    only_fields(body, {"transactions"});
    const json& list = body["transactions"];
    if (!list.is_array() || list.empty() || list.size() > kMaxBatch) {
      throw Error(ErrorCode::kInvalidArgument,
                  "transactions: must be a list of 1 to " + std::to_string(kMaxBatch) + " transactions");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      auto p = transactions::parse_transaction(list[i], "transactions[" + std::to_string(i) + "].");
      if (!p.value) throw Error(ErrorCode::kInvalidArgument, p.error);
      batch.push_back(std::move(*p.value));
    }
  }
  return store_batch(call, std::move(batch), single);
}

Response TransactionsApi::webhook(Call& call) {
  const std::string id = call.params.at("till");
  const auto config = configs_.current();
  const TillConfig* till = config->find_till(id);
  if (!till) throw Error(ErrorCode::kNotFound, "no till " + id);
  std::optional<Principal> principal;
  if (!till->webhook_secret.empty()) {
    const std::string sig = call.request.header("x-signature");
    if (sig.empty() ||
        !transactions::webhook_signature_valid(till->webhook_secret, call.request.body, sig)) {
      spdlog::warn("transactions: webhook for till {} from {}: {} signature", id,
                   call.request.remote_address, sig.empty() ? "no" : "wrong");
      throw HttpFail{401, "missing or wrong X-Signature (HMAC-SHA256 of the body, hex)"};
    }
  } else {
    // No secret: the caller must be what may post for this till (a till token or an admin's).
    principal = auth_.from_request(call.request);
    if (!principal || principal->via != Principal::Via::kToken) {
      throw HttpFail{401, "till " + id + " has no webhook_secret: send a till token as 'Authorization: Bearer'"};
    }
    check_may_post(*principal, id);
  }
  json body;
  try {
    body = json::parse(call.request.body);
  } catch (const json::exception&) {
    throw Error(ErrorCode::kInvalidArgument, "body: not JSON");
  }
  auto p = transactions::map_webhook(body, *till);
  if (!p.value) throw Error(ErrorCode::kInvalidArgument, p.error);
  Call inner{call.request, call.params, call.query, nullptr};
  return store_batch(inner, {std::move(*p.value)}, true);
}

Response TransactionsApi::picture(Call& call) {
  const Transaction t = visible(call, std::stoll(call.params.at("id")));
  const auto config = configs_.current();
  const TillConfig* till = config->find_till(t.till_id);
  // A till is visible through any of its cameras; the picture is of the first one only.
  if (!till || till->cameras.empty() || !call.principal->user.may_see_camera(till->cameras.front())) {
    throw Error(ErrorCode::kNotFound, "transaction " + std::to_string(t.id) + ": no camera of till " +
                                          t.till_id + " that you may see first");
  }
  const std::string& camera = till->cameras.front();
  // Not audited row by row: a page of results asks for fifty; the search that listed them is.
  std::optional<JpegImage> still = playback_.still_at(camera, t.moment);
  if (!still) {
    throw Error(ErrorCode::kNotFound, "no footage of camera " + camera + " at the moment of transaction " +
                                          std::to_string(t.id));
  }
  Response r;
  r.content_type = "image/jpeg";
  r.body = std::move(still->bytes);
  // Recorded footage does not change: the browser may keep it while the page is browsed.
  r.with_header("Cache-Control", "private, max-age=3600");
  return r;
}

Response TransactionsApi::search(Call& call) {
  only_query(call, {"till", "camera", "from_ms", "to_ms", "kind", "method", "amount_from",
                    "amount_to", "text", "before_id", "limit"});
  const auto config = configs_.current();
  transactions::TransactionFilter f;
  f.tills = visible_tills(*config, call.principal->user);
  if (auto it = call.query.find("till"); it != call.query.end()) {
    // A till the caller may not see is answered like one with no transactions.
    if (!may_see(f.tills, it->second)) {
      f.tills = std::vector<std::string>{};
    } else {
      f.tills = std::vector<std::string>{it->second};
    }
  }
  // The tills a camera watches (its timeline's markers), of those the caller may see.
  if (auto it = call.query.find("camera"); it != call.query.end()) {
    std::vector<std::string> watched;
    for (const TillConfig& t : config->tills) {
      if (may_see(f.tills, t.id) &&
          std::find(t.cameras.begin(), t.cameras.end(), it->second) != t.cameras.end()) {
        watched.push_back(t.id);
      }
    }
    f.tills = std::move(watched);
  }
  if (call.query.count("from_ms")) f.from = wall_from_ms(query_int(call, "from_ms", 0, kMaxMs, 0));
  if (call.query.count("to_ms")) f.to = wall_from_ms(query_int(call, "to_ms", 0, kMaxMs, 0));
  if (auto it = call.query.find("kind"); it != call.query.end()) {
    f.kind = transactions::parse_kind(it->second);
    if (!f.kind) throw Error(ErrorCode::kInvalidArgument, "query kind: no such kind");
  }
  if (auto it = call.query.find("method"); it != call.query.end()) {
    f.method = transactions::parse_method(it->second);
    if (!f.method) throw Error(ErrorCode::kInvalidArgument, "query method: must be qr, card, cash or other");
  }
  constexpr int64_t kMaxAmount = int64_t{1} << 60;
  if (call.query.count("amount_from")) f.amount_from = query_int(call, "amount_from", -kMaxAmount, kMaxAmount, 0);
  if (call.query.count("amount_to")) f.amount_to = query_int(call, "amount_to", -kMaxAmount, kMaxAmount, 0);
  if (auto it = call.query.find("text"); it != call.query.end()) {
    if (it->second.size() > 200) throw Error(ErrorCode::kInvalidArgument, "query text: at most 200 bytes");
    f.text = it->second;
  }
  if (call.query.count("before_id")) f.before_id = query_int(call, "before_id", 1, kMaxMs, 1);
  f.limit = static_cast<int>(query_int(call, "limit", 1, 500, f.limit));
  const auto rows = store().find(f);
  json list = json::array();
  for (const Transaction& t : rows) list.push_back(transactions::to_json(t, false));
  audit_read(call, "transactions_search", f.tills && f.tills->size() == 1 ? f.tills->front() : "",
             std::nullopt, std::string(call.request.query()));
  json out = {{"transactions", list}};
  if (static_cast<int>(rows.size()) == f.limit) out["next_before_id"] = rows.back().id;
  return Response::json(200, out);
}

Response TransactionsApi::summary(Call& call) {
  only_query(call, {"till", "day", "from_day", "to_day", "format"});
  const auto config = configs_.current();
  auto day_param = [&call](const char* key) -> std::optional<std::chrono::sys_days> {
    const auto it = call.query.find(key);
    if (it == call.query.end()) return std::nullopt;
    auto d = parse_day(it->second);
    if (!d) throw Error(ErrorCode::kInvalidArgument, std::string("query ") + key + ": must be a day YYYY-MM-DD");
    return d;
  };
  auto from = day_param("day");
  auto to = from;
  if (from && (call.query.count("from_day") || call.query.count("to_day"))) {
    throw Error(ErrorCode::kInvalidArgument, "query day: give day or from_day and to_day, not both");
  }
  if (!from) {
    from = day_param("from_day");
    to = day_param("to_day");
    if (!from || !to) {
      throw Error(ErrorCode::kInvalidArgument, "query day: give day, or from_day and to_day (YYYY-MM-DD)");
    }
  }
  const auto days = (*to - *from).count() + 1;
  if (days < 1 || days > kMaxSummaryDays) {
    throw Error(ErrorCode::kInvalidArgument,
                "query to_day: must be from from_day to " + std::to_string(kMaxSummaryDays) + " days after it");
  }
  bool csv = false;
  if (auto it = call.query.find("format"); it != call.query.end()) {
    if (it->second != "csv" && it->second != "json") {
      throw Error(ErrorCode::kInvalidArgument, "query format: must be json or csv");
    }
    csv = it->second == "csv";
  } else {
    csv = call.request.header("accept").find("text/csv") != std::string::npos;
  }
  // Which tills: the one asked for (404 if there is none or the caller may not see it: whether
  // a till one cannot see exists is not one's business), else every till the caller sees.
  const auto seen = visible_tills(*config, call.principal->user);
  std::vector<const TillConfig*> tills;
  const auto till_it = call.query.find("till");
  for (const TillConfig& t : config->tills) {
    if (till_it != call.query.end() && t.id != till_it->second) continue;
    if (may_see(seen, t.id)) tills.push_back(&t);
  }
  if (till_it != call.query.end() && tills.empty()) {
    throw Error(ErrorCode::kNotFound, "no till " + till_it->second);
  }
  // Days are local days, like opening hours and schedules.
  const TimeZone tz = config->events.time_zone.empty() ? TimeZone() : TimeZone(config->events.time_zone);
  std::vector<transactions::SummaryRow> rows;
  for (const TillConfig* till : tills) {
    for (auto d = *from; d <= *to; d += std::chrono::days(1)) {
      transactions::SummaryRow r;
      r.till_id = till->id;
      r.till_name = till->name;
      r.day = format_day(d);
      r.from = local_midnight(d, tz);
      r.to = local_midnight(d + std::chrono::days(1), tz);
      r.summary = store().summarize(till->id, r.from, r.to, till->cameras.empty() ? "" : till->cameras.front());
      rows.push_back(std::move(r));
    }
  }
  const std::string first = format_day(*from), last = format_day(*to);
  audit_read(call, "transactions_summary", tills.size() == 1 ? tills.front()->id : "",
             std::nullopt, std::string(call.request.query()));
  if (csv) {
    Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = transactions::summary_csv_header();
    for (const auto& row : rows) r.body += transactions::to_csv(row);
    r.with_header("Content-Disposition",
                  "attachment; filename=\"vigil-transactions-" +
                      (till_it != call.query.end() ? till_it->second : std::string("all")) + "-" + first +
                      (first == last ? "" : "_" + last) + ".csv\"");
    return r;
  }
  json list = json::array();
  for (const auto& row : rows) list.push_back(transactions::to_json(row));
  return Response::json(200, {{"from_day", first}, {"to_day", last}, {"time_zone", tz.name()}, {"days", list}});
}

Transaction TransactionsApi::visible(Call& call, int64_t id) {
  auto t = store().get(id);
  const auto config = configs_.current();
  // Not "forbidden": whether a transaction exists at a till one cannot see is not one's business.
  if (!t || !may_see(visible_tills(*config, call.principal->user), t->till_id)) {
    throw Error(ErrorCode::kNotFound, "no transaction " + std::to_string(id));
  }
  return *t;
}

Response TransactionsApi::get(Call& call) {
  const Transaction t = visible(call, std::stoll(call.params.at("id")));
  audit_read(call, "transaction_view", t.till_id, t.moment, "transaction " + std::to_string(t.id));
  json out = transactions::to_json(t, true);
  const auto config = configs_.current();
  if (const TillConfig* till = config->find_till(t.till_id)) out["cameras"] = till->cameras;
  return Response::json(200, out);
}

Response TransactionsApi::receipt(Call& call) {
  const Transaction t = visible(call, std::stoll(call.params.at("id")));
  audit_read(call, "transaction_view", t.till_id, t.moment,
             "receipt of transaction " + std::to_string(t.id));
  return Response::json(200, {{"id", t.id}, {"receipt", transactions::to_json(t, true)["receipt"]}});
}

Response TransactionsApi::clip(Call& call) {
  only_query(call, {"evidence"});
  const auto ev = call.query.find("evidence");
  if (ev != call.query.end() && ev->second != "true" && ev->second != "false") {
    throw Error(ErrorCode::kInvalidArgument, "query evidence must be true or false");
  }
  const bool evidence = ev != call.query.end() && ev->second == "true";
  const Transaction t = visible(call, std::stoll(call.params.at("id")));
  const auto config = configs_.current();
  const TillConfig* till = config->find_till(t.till_id);
  // The counter camera: the till's first, as for the audit log and the customer-zone rule.
  const auto& user = call.principal->user;
  if (!till || till->cameras.empty()) {
    throw Error(ErrorCode::kNotFound, "till " + t.till_id + " has no camera to export");
  }
  const std::string& camera = till->cameras.front();
  if (!user.may_see_camera(camera)) {
    throw Error(ErrorCode::kPermissionDenied, "camera " + camera + " is not in your list");
  }
  WallTime end = t.moment + kClipAfter;
  if (!t.receipt.empty()) end = std::max(end, t.receipt.back().at + kClipBefore);
  end = std::min(end, t.moment + std::chrono::minutes(30));  // a receipt that never ended
  return playback_.export_range(call, camera, t.moment - kClipBefore, end,
                                "transaction " + std::to_string(t.id), evidence,
                                receipt_cues(t, end));
}

Playback::EvidenceExtras TransactionsApi::evidence_transactions(Call& call,
                                                                const std::string& camera,
                                                                WallTime start, WallTime end) {
  auto read = transactions::evidence_transactions(store(), *configs_.current(), camera, start, end);
  // No till watches the camera: the bundle is footage only, as before transactions existed.
  if (!read) return {};
  for (const auto& t : read->tills) {
    // Read on the caller's right to the camera (the bundle's): audited like any other read of
    // the till's transactions.
    audit_read(call, "transactions_evidence", t.till_id, start,
               std::to_string(t.transactions.size()) +
                   " transaction(s) in the evidence bundle of camera " + camera,
               end);
  }
  return {{{transactions::kEvidenceTransactionsFile, "transactions", std::move(read->json)}},
          std::move(read->note)};
}

void TransactionsApi::audit_read(Call& call, const std::string& action, const std::string& till,
                                 std::optional<WallTime> at, const std::string& detail,
                                 std::optional<WallTime> until) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = action;
  // The audit log is per camera: a till's first camera stands for the counter it watches.
  const auto config = configs_.current();
  if (const TillConfig* t = config->find_till(till); t && !t->cameras.empty()) {
    e.camera_id = t->cameras.front();
  }
  e.range_start = at;
  e.range_end = until ? until : at;
  e.detail = (till.empty() ? "" : "till " + till + ": ") + detail;
  accounts_.append_audit(e);
}

}  // namespace vigil
