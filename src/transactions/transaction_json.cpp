// Transactions as JSON (transaction_json.h).
#include "transactions/transaction_json.h"

#include <array>
#include <ctime>
#include <regex>

#include "transactions/card_mask.h"

namespace vigil::transactions {
namespace {

using nlohmann::json;

constexpr size_t kMaxText = 4096;      // free text, an item's text, a receipt line
constexpr size_t kMaxShort = 128;      // reference, cashier
constexpr size_t kMaxItems = 1000;
constexpr int64_t kMaxMinor = 1'000'000'000'000'000;  // 10^16 minor units: no till goes near

struct Reader {
  const json& j;
  const std::string& where;
  std::string error;

  bool fail(const std::string& field, const std::string& why) {
    if (error.empty()) error = where + field + ": " + why;
    return false;
  }
  // nullopt also when absent or null; an error is recorded when present but wrong.
  std::optional<std::string> text(const char* field, size_t max) {
    if (!j.contains(field) || j[field].is_null()) return std::nullopt;
    if (!j[field].is_string()) return fail(field, "must be a string"), std::nullopt;
    const std::string s = j[field].get<std::string>();
    if (s.size() > max) return fail(field, "longer than " + std::to_string(max) + " bytes"), std::nullopt;
    return mask_card_numbers(s);
  }
  std::optional<int64_t> integer(const char* field, int64_t min, int64_t max) {
    if (!j.contains(field) || j[field].is_null()) return std::nullopt;
    const json& v = j[field];
    if (!v.is_number_integer()) return fail(field, "must be a whole number"), std::nullopt;
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)
                          ? INT64_MAX
                          : v.get<int64_t>();
    if (x < min || x > max) {
      return fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max)),
             std::nullopt;
    }
    return x;
  }
};

}  // namespace

std::optional<WallTime> parse_iso8601(const std::string& text) {
  static const std::regex re(
      R"(^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1].str()) - 1900;
  tm.tm_mon = std::stoi(m[2].str()) - 1;
  tm.tm_mday = std::stoi(m[3].str());
  tm.tm_hour = std::stoi(m[4].str());
  tm.tm_min = std::stoi(m[5].str());
  tm.tm_sec = std::stoi(m[6].str());
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (m[7].matched) {
    std::string frac = m[7].str().substr(1);
    frac.resize(3, '0');
    ms += std::stoi(frac.substr(0, 3));
  }
  const std::string zone = m[8].str();
  if (zone != "Z") {
    const std::string digits = zone.size() == 6 ? zone.substr(1, 2) + zone.substr(4, 2) : zone.substr(1);
    const int minutes = std::stoi(digits.substr(0, 2)) * 60 + std::stoi(digits.substr(2, 2));
    if (minutes > 18 * 60) return std::nullopt;
    ms -= (zone[0] == '+' ? 1 : -1) * int64_t{minutes} * 60'000;
  }
  return wall_from_ms(ms);
}

std::optional<int64_t> parse_amount_minor(const std::string& text) {
  static const std::regex re(R"(^\s*(-?)([0-9][0-9.,]*?)(?:[.,]([0-9]{1,2}))?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  std::string whole;
  for (char c : m[2].str()) {
    if (c >= '0' && c <= '9') whole += c;
  }
  if (whole.empty() || whole.size() > 15) return std::nullopt;
  std::string cents = m[3].matched ? m[3].str() : "00";
  if (cents.size() == 1) cents += '0';
  const int64_t v = std::stoll(whole) * 100 + std::stoll(cents);
  return m[1].str() == "-" ? -v : v;
}

Parsed parse_transaction(const json& j, const std::string& where) {
  Parsed out;
  if (!j.is_object()) {
    out.error = (where.empty() ? std::string("body") : where.substr(0, where.size() - 1)) +
                ": must be a JSON object";
    return out;
  }
  Reader r{j, where, {}};
  static const char* const kFields[] = {"till",    "time",      "time_ms",  "kind",
                                        "method",  "total_minor", "currency", "items",
                                        "reference", "cashier", "text"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* f : kFields) known = known || key == f;
    // The key only: an unknown field may be the very payer data that must not be echoed.
    if (!known) r.fail(key.size() > 64 ? key.substr(0, 64) : key, "unknown field");
  }
  Transaction t;
  t.till_id = r.text("till", 64).value_or("");
  if (t.till_id.empty()) r.fail("till", "required (a configured till id)");
  if (j.contains("time") && j.contains("time_ms")) r.fail("time", "give time or time_ms, not both");
  if (auto s = r.text("time", 64)) {
    t.till_time = parse_iso8601(*s);
    if (!t.till_time) r.fail("time", "must be ISO 8601 with a zone, e.g. 2026-12-06T12:00:00Z");
  }
  if (auto ms = r.integer("time_ms", 0, 253'402'300'799'999)) t.till_time = wall_from_ms(*ms);
  const std::string kind = r.text("kind", 32).value_or("");
  if (auto k = parse_kind(kind)) {
    t.kind = *k;
  } else {
    r.fail("kind", "required: sale, refund, void, no_sale, drawer_open or drawer_close");
  }
  if (auto m = r.text("method", 32)) {
    t.method = parse_method(*m);
    if (!t.method) r.fail("method", "must be qr, card, cash or other");
  }
  t.total_minor = r.integer("total_minor", -kMaxMinor, kMaxMinor);
  t.currency = r.text("currency", 3).value_or("");
  static const std::regex currency_re("^([A-Z]{3})?$");
  if (!std::regex_match(t.currency, currency_re)) r.fail("currency", "must be an ISO 4217 code such as EUR");
  t.reference = r.text("reference", kMaxShort).value_or("");
  t.cashier = r.text("cashier", kMaxShort).value_or("");
  t.text = r.text("text", kMaxText).value_or("");
  if (j.contains("items") && !j["items"].is_null()) {
    const json& items = j["items"];
    if (!items.is_array()) {
      r.fail("items", "must be a list of {text, quantity, unit_minor}");
    } else if (items.size() > kMaxItems) {
      r.fail("items", "more than " + std::to_string(kMaxItems) + " items");
    } else {
      for (size_t i = 0; i < items.size() && r.error.empty(); ++i) {
        const std::string iw = where + "items[" + std::to_string(i) + "].";
        const json& item = items[i];
        if (!item.is_object()) {
          r.fail("items[" + std::to_string(i) + "]", "must be an object {text, quantity, unit_minor}");
          break;
        }
        Reader ir{item, iw, {}};
        for (const auto& [key, value] : item.items()) {
          if (key != "text" && key != "quantity" && key != "unit_minor") {
            ir.fail(key.size() > 64 ? key.substr(0, 64) : key, "unknown field");
          }
        }
        LineItem li;
        li.text = ir.text("text", kMaxText).value_or("");
        if (li.text.empty()) ir.fail("text", "required");
        if (item.contains("quantity") && !item["quantity"].is_null()) {
          if (!item["quantity"].is_number() || item["quantity"].get<double>() <= -1e9 ||
              item["quantity"].get<double>() >= 1e9) {
            ir.fail("quantity", "must be a number");
          } else {
            li.quantity = item["quantity"].get<double>();
          }
        }
        li.unit_minor = ir.integer("unit_minor", -kMaxMinor, kMaxMinor);
        if (!ir.error.empty() && r.error.empty()) r.error = ir.error;
        t.items.push_back(std::move(li));
      }
    }
  }
  t.source = Source::kApi;
  if (r.error.empty()) {
    out.value = std::move(t);
  } else {
    out.error = r.error;
  }
  return out;
}

json to_json(const Transaction& t, bool with_receipt) {
  json items = json::array();
  for (const LineItem& i : t.items) {
    items.push_back({{"text", i.text},
                     {"quantity", i.quantity},
                     {"unit_minor", i.unit_minor ? json(*i.unit_minor) : json(nullptr)}});
  }
  json out = {
      {"id", t.id},
      {"till", t.till_id},
      {"time_ms", t.till_time ? json(ms_since_epoch(*t.till_time)) : json(nullptr)},
      {"moment_ms", ms_since_epoch(t.moment)},
      {"moment", format_iso8601(t.moment)},
      {"kind", kind_name(t.kind)},
      {"method", t.method ? json(method_name(*t.method)) : json(nullptr)},
      {"total_minor", t.total_minor ? json(*t.total_minor) : json(nullptr)},
      {"currency", t.currency},
      {"items", items},
      {"reference", t.reference.empty() ? json(nullptr) : json(t.reference)},
      {"cashier", t.cashier},
      {"text", t.text},
      {"source", source_name(t.source)},
      {"created_ms", ms_since_epoch(t.created)},
  };
  if (with_receipt) {
    json lines = json::array();
    for (const ReceiptLine& l : t.receipt) {
      lines.push_back({{"at_ms", ms_since_epoch(l.at)}, {"text", l.text}});
    }
    out["receipt"] = lines;
  }
  return out;
}

namespace {

constexpr std::array<Kind, kKindCount> kAllKinds = {Kind::kSale,   Kind::kRefund,     Kind::kVoid,
                                                    Kind::kNoSale, Kind::kDrawerOpen, Kind::kDrawerClose};
constexpr std::array<Method, kMethodCount> kAllMethods = {Method::kQr, Method::kCard, Method::kCash,
                                                          Method::kOther};

nlohmann::json method_json(const MethodTally& m) {
  return {{"count", m.count}, {"sales_minor", m.sales_minor}, {"refunds_minor", m.refunds_minor}};
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. A leading
// =, +, - or @ would make a spreadsheet run the text as a formula: such a text gets a ' first.
std::string csv_field(const std::string& s) {
  std::string v = s;
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

nlohmann::json to_json(const SummaryRow& r) {
  const Summary& s = r.summary;
  nlohmann::json kinds = nlohmann::json::object();
  for (Kind k : kAllKinds) {
    const Tally& t = s.by_kind[static_cast<size_t>(k)];
    kinds[kind_name(k)] = {{"count", t.count}, {"total_minor", t.total_minor}};
  }
  nlohmann::json methods = nlohmann::json::object();
  for (Method m : kAllMethods) methods[method_name(m)] = method_json(s.by_method[static_cast<size_t>(m)]);
  methods["none"] = method_json(s.no_method);
  nlohmann::json exceptions = nlohmann::json::array();
  for (const RaisedException& e : s.exceptions) {
    exceptions.push_back({{"event_id", e.event_id}, {"at_ms", ms_since_epoch(e.at)}, {"reason", e.reason}});
  }
  return {{"till", r.till_id},
          {"till_name", r.till_name},
          {"day", r.day},
          {"from_ms", ms_since_epoch(r.from)},
          {"to_ms", ms_since_epoch(r.to)},
          {"count", s.count},
          {"net_minor", s.net_minor},
          {"by_kind", kinds},
          {"by_method", methods},
          {"exceptions", static_cast<int64_t>(s.exceptions.size())},
          {"exception_events", exceptions}};
}

std::string summary_csv_header() {
  std::string h = "till,till_name,day,from_ms,to_ms,count,net_minor";
  for (Kind k : kAllKinds) h += std::string(",") + kind_name(k) + "_count," + kind_name(k) + "_minor";
  auto method_columns = [&h](const std::string& m) {
    h += "," + m + "_count," + m + "_sales_minor," + m + "_refunds_minor";
  };
  for (Method m : kAllMethods) method_columns(method_name(m));
  method_columns("none");
  return h + ",exceptions\r\n";
}

std::string to_csv(const SummaryRow& r) {
  const Summary& s = r.summary;
  std::string line = csv_field(r.till_id) + "," + csv_field(r.till_name) + "," + r.day + "," +
                     std::to_string(ms_since_epoch(r.from)) + "," +
                     std::to_string(ms_since_epoch(r.to)) + "," + std::to_string(s.count) + "," +
                     std::to_string(s.net_minor);
  for (Kind k : kAllKinds) {
    const Tally& t = s.by_kind[static_cast<size_t>(k)];
    line += "," + std::to_string(t.count) + "," + std::to_string(t.total_minor);
  }
  auto method_values = [&line](const MethodTally& m) {
    line += "," + std::to_string(m.count) + "," + std::to_string(m.sales_minor) + "," +
            std::to_string(m.refunds_minor);
  };
  for (Method m : kAllMethods) method_values(s.by_method[static_cast<size_t>(m)]);
  method_values(s.no_method);
  return line + "," + std::to_string(s.exceptions.size()) + "\r\n";
}

}  // namespace vigil::transactions
