// TOML → Config, with strict validation: unknown keys are errors too (a typo in "max_days" must
// not silently keep footage forever).
#include "core/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/net_address.h"
#include "core/redact.h"

namespace vigil {
namespace {

class Validator {
 public:
  explicit Validator(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& value,
                         const std::string& reason) const {
    throw Error(ErrorCode::kInvalidArgument,
                source_ + ": " + key + " = " + value + ": " + reason);
  }

  void only_keys(const toml::table& t, const std::string& where,
                 const std::set<std::string>& allowed) const {
    for (const auto& entry : t) {
      const std::string key(entry.first.str());
      if (!allowed.count(key)) {
        // The key only, never its value: a mistyped `pasword = "..."` must not put the
        // password into a log or an API error.
        throw Error(ErrorCode::kInvalidArgument,
                    source_ + ": " + (where.empty() ? key : where + "." + key) +
                        ": unknown setting");
      }
    }
  }

  static std::string describe(const toml::node& n) {
    std::ostringstream os;
    if (n.is_string()) {
      os << '"' << *n.value<std::string>() << '"';
    } else if (n.is_table()) {
      os << "{...}";
    } else if (n.is_array()) {
      os << "[...]";
    } else {
      n.visit([&os](const auto& v) {
        if constexpr (toml::is_value<decltype(v)>) os << v;
      });
    }
    return os.str();
  }

  std::string get_string(const toml::table& t, const std::string& where, const char* key,
                         const std::string& def) const {
    const toml::node* n = t.get(key);
    if (!n) return def;
    if (!n->is_string()) fail(where + key, describe(*n), "must be a string");
    return *n->value<std::string>();
  }

  bool get_bool(const toml::table& t, const std::string& where, const char* key, bool def) const {
    const toml::node* n = t.get(key);
    if (!n) return def;
    if (!n->is_boolean()) fail(where + key, describe(*n), "must be true or false");
    return *n->value<bool>();
  }

  std::optional<int64_t> get_int(const toml::table& t, const std::string& where, const char* key,
                                 int64_t min, int64_t max) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(where + key, describe(*n), "must be a whole number");
    const int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      fail(where + key, std::to_string(v),
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return v;
  }

  std::optional<uint64_t> get_bytes(const toml::table& t, const std::string& where,
                                    const char* key) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (n->is_integer()) {
      const int64_t v = *n->value<int64_t>();
      if (v <= 0) fail(where + key, std::to_string(v), "must be a positive size");
      return static_cast<uint64_t>(v);
    }
    if (n->is_string()) {
      if (auto v = parse_byte_size(*n->value<std::string>()); v && *v > 0) return v;
    }
    fail(where + key, describe(*n), "must be a size such as 500MiB, 20GB or a byte count");
  }

  RetentionLimits get_retention(const toml::node* n, const std::string& where) const {
    RetentionLimits r;
    if (!n) return r;
    const toml::table* t = n->as_table();
    if (!t) fail(where, describe(*n), "must be a table");
    only_keys(*t, where, {"max_days", "max_bytes"});
    if (auto d = get_int(*t, where + ".", "max_days", 1, 36500)) r.max_days = static_cast<int>(*d);
    r.max_bytes = get_bytes(*t, where + ".", "max_bytes");
    return r;
  }

 private:
  std::string source_;
};


// ---- Events: [events], [mqtt], [[webhook]], [[camera.schedule]] ----

// The detection type names of analyze/detection.h (core cannot depend on analyze).
const std::set<std::string>& event_type_names() {
  // "transaction": a till's exception (issue 19, transactions/exception_rules.h).
  static const std::set<std::string> names = {"motion", "tamper_covered", "tamper_defocused",
                                              "tamper_moved", "signal_lost", "transaction"};
  return names;
}

std::vector<std::string> get_types(const Validator& v, const toml::table& t,
                                   const std::string& where) {
  std::vector<std::string> out;
  const toml::node* n = t.get("types");
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) v.fail(where + "types", Validator::describe(*n), "must be a list of event types");
  for (const auto& x : *arr) {
    const auto name = x.value<std::string>();
    if (!name || !event_type_names().count(*name)) {
      v.fail(where + "types", Validator::describe(x),
             "must be one of motion, tamper_covered, tamper_defocused, tamper_moved, "
             "signal_lost");
    }
    out.push_back(*name);
  }
  return out;
}

// "19:00" -> minutes since midnight; "24:00" allowed only as an end.
std::chrono::minutes get_clock_time(const Validator& v, const toml::table& t,
                                    const std::string& where, const char* key,
                                    std::chrono::minutes def, bool allow_24) {
  const std::string text = v.get_string(t, where, key, "");
  if (text.empty()) return def;
  static const std::regex re("^([0-9]{1,2}):([0-9]{2})$");
  std::smatch m;
  if (std::regex_match(text, m, re)) {
    const int h = std::stoi(m[1].str());
    const int min = std::stoi(m[2].str());
    if ((h < 24 && min < 60) || (allow_24 && h == 24 && min == 0)) {
      return std::chrono::minutes(h * 60 + min);
    }
  }
  v.fail(where + key, "\"" + text + "\"",
         allow_24 ? "must be a time of day HH:MM (00:00-24:00)"
                  : "must be a time of day HH:MM (00:00-23:59)");
}

std::vector<ScheduleEntry> get_schedule(const Validator& v, const toml::node* n,
                                        const std::string& where) {
  std::vector<ScheduleEntry> out;
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) v.fail(where, Validator::describe(*n), "must be an array of tables ([[camera.schedule]])");
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "].";
    const toml::table* t = (*arr)[i].as_table();
    if (!t) v.fail(w, Validator::describe((*arr)[i]), "must be a table");
    v.only_keys(*t, where + "[" + std::to_string(i) + "]", {"zone", "types", "days", "from", "to"});
    ScheduleEntry e;
    e.zone = v.get_string(*t, w, "zone", "");
    if (e.zone.find(',') != std::string::npos) {
      v.fail(w + "zone", "\"" + e.zone + "\"", "a zone name cannot contain ','");
    }
    e.types = get_types(v, *t, w);
    if (const toml::node* d = t->get("days")) {
      const toml::array* days = d->as_array();
      if (!days) v.fail(w + "days", Validator::describe(*d), "must be a list such as [\"sat\", \"sun\"]");
      e.days = 0;
      for (const auto& x : *days) {
        const auto name = x.value<std::string>();
        int bit = -1;
        for (int k = 0; k < 7 && name; ++k) {
          if (*name == kDays[k]) bit = k;
        }
        if (bit < 0) {
          v.fail(w + "days", Validator::describe(x),
                 "must be day names: mon, tue, wed, thu, fri, sat, sun");
        }
        e.days = static_cast<uint8_t>(e.days | (1u << bit));
      }
      if (e.days == 0) v.fail(w + "days", "[]", "names no day; leave it out for every day");
    }
    e.from = get_clock_time(v, *t, w, "from", std::chrono::minutes(0), false);
    e.to = get_clock_time(v, *t, w, "to", std::chrono::minutes(24 * 60), true);
    if (e.from == e.to) {
      v.fail(w + "to", Validator::describe(*t->get("to")),
             "equals \"from\": an empty period (for a whole day use from = \"00:00\", to = \"24:00\")");
    }
    out.push_back(std::move(e));
  }
  return out;
}

// http(s)://host[:port][/path] (webhooks, the TSA).
bool is_http_url(const std::string& url) {
  static const std::regex re("^https?://[^/\\s?#]+(/[^\\s]*)?$");
  return std::regex_match(url, re);
}

// A CA certificate file (PEM) for TLS to a notification target, or a TSA's CA: absolute, and
// readable now, so a typo is found when the setting is made rather than at the first use.
std::filesystem::path get_ca_file(const Validator& v, const toml::table& t,
                                  const std::string& where, const char* key = "ca_file") {
  const std::string text = v.get_string(t, where, key, "");
  if (text.empty()) return {};
  const std::filesystem::path p(text);
  if (!p.is_absolute()) v.fail(where + key, "\"" + text + "\"", "must be an absolute path");
  std::ifstream in(p);
  if (!in) v.fail(where + key, "\"" + text + "\"", "cannot be read");
  return p;
}

void parse_events_settings(const Validator& v, const toml::table& root, Config& c) {
  auto ms = [](int64_t x) { return std::chrono::milliseconds(x); };
  if (const toml::node* n = root.get("events")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("events", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "events",
                {"min_duration_ms", "merge_gap_ms", "pre_roll_ms", "post_roll_ms", "time_zone",
                 "queue_limit"});
    EventSettings& e = c.events;
    if (auto x = v.get_int(*t, "events.", "min_duration_ms", 0, 600'000)) e.min_duration = ms(*x);
    if (auto x = v.get_int(*t, "events.", "merge_gap_ms", 0, 3'600'000)) e.merge_gap = ms(*x);
    if (auto x = v.get_int(*t, "events.", "pre_roll_ms", 0, 600'000)) e.pre_roll = ms(*x);
    if (auto x = v.get_int(*t, "events.", "post_roll_ms", 0, 600'000)) e.post_roll = ms(*x);
    if (auto x = v.get_int(*t, "events.", "queue_limit", 10, 1'000'000)) {
      e.queue_limit = static_cast<size_t>(*x);
    }
    e.time_zone = v.get_string(*t, "events.", "time_zone", "");
    static const std::regex tz_re("^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$");
    if (!e.time_zone.empty() &&
        (!std::regex_match(e.time_zone, tz_re) ||
         !std::filesystem::is_regular_file(std::filesystem::path("/usr/share/zoneinfo") /
                                           e.time_zone))) {
      v.fail("events.time_zone", "\"" + e.time_zone + "\"",
             "must be a time zone name found under /usr/share/zoneinfo, such as "
             "\"Europe/Berlin\" (package tzdata), or left out for the host's zone");
    }
  }
  if (const toml::node* n = root.get("mqtt")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("mqtt", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "mqtt",
                {"host", "port", "prefix", "client_id", "username", "password", "tls", "ca_file",
                 "discovery", "discovery_prefix", "keepalive_s", "queue_limit", "retry_for_ms"});
    MqttSettings& m = c.mqtt;
    m.host = v.get_string(*t, "mqtt.", "host", "");
    if (m.host.empty()) v.fail("mqtt.host", "(missing)", "name the broker, or leave [mqtt] out");
    m.tls = v.get_bool(*t, "mqtt.", "tls", false);
    m.port = m.tls ? 8883 : 1883;
    if (auto x = v.get_int(*t, "mqtt.", "port", 1, 65535)) m.port = static_cast<int>(*x);
    m.ca_file = get_ca_file(v, *t, "mqtt.");
    if (!m.ca_file.empty() && !m.tls) {
      v.fail("mqtt.ca_file", "\"" + m.ca_file.string() + "\"", "needs tls = true");
    }
    static const std::regex topic_re("^[^#+\\s]+$");
    for (auto [key, field] : {std::pair{"prefix", &m.prefix},
                              std::pair{"discovery_prefix", &m.discovery_prefix}}) {
      *field = v.get_string(*t, "mqtt.", key, *field);
      if (!std::regex_match(*field, topic_re) || field->back() == '/' || field->front() == '/') {
        v.fail(std::string("mqtt.") + key, "\"" + *field + "\"",
               "must be a topic without '#', '+', spaces, or a leading/trailing '/'");
      }
    }
    m.client_id = v.get_string(*t, "mqtt.", "client_id", m.client_id);
    if (m.client_id.empty() || m.client_id.size() > 23) {
      v.fail("mqtt.client_id", "\"" + m.client_id + "\"", "must be 1-23 characters (MQTT 3.1)");
    }
    m.username = v.get_string(*t, "mqtt.", "username", "");
    m.password = v.get_string(*t, "mqtt.", "password", "");
    m.discovery = v.get_bool(*t, "mqtt.", "discovery", m.discovery);
    if (auto x = v.get_int(*t, "mqtt.", "keepalive_s", 5, 3600)) m.keepalive = std::chrono::seconds(*x);
    if (auto x = v.get_int(*t, "mqtt.", "queue_limit", 10, 1'000'000)) {
      m.queue_limit = static_cast<size_t>(*x);
    }
    if (auto x = v.get_int(*t, "mqtt.", "retry_for_ms", 0, 86'400'000)) m.retry_for = ms(*x);
  }
  if (const toml::node* n = root.get("webhook")) {
    const toml::array* arr = n->as_array();
    if (!arr) v.fail("webhook", Validator::describe(*n), "must be an array of tables ([[webhook]])");
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string where = "webhook[" + std::to_string(i) + "]";
      const std::string w = where + ".";
      const toml::table* t = (*arr)[i].as_table();
      if (!t) v.fail(where, Validator::describe((*arr)[i]), "must be a table");
      v.only_keys(*t, where,
                  {"url", "secret", "ca_file", "types", "timeout_ms", "max_attempts",
                   "retry_initial_ms", "queue_limit"});
      WebhookTarget h;
      h.url = v.get_string(*t, w, "url", "");
      if (!is_http_url(h.url)) {
        v.fail(w + "url", "\"" + redact_url(h.url) + "\"", "must be an http:// or https:// URL");
      }
      h.secret = v.get_string(*t, w, "secret", "");
      h.ca_file = get_ca_file(v, *t, w);
      if (!h.ca_file.empty() && h.url.rfind("https://", 0) != 0) {
        v.fail(w + "ca_file", "\"" + h.ca_file.string() + "\"", "is for https:// URLs only");
      }
      h.types = get_types(v, *t, w);
      if (auto x = v.get_int(*t, w, "timeout_ms", 100, 120'000)) h.timeout = ms(*x);
      if (auto x = v.get_int(*t, w, "max_attempts", 1, 100)) h.max_attempts = static_cast<int>(*x);
      if (auto x = v.get_int(*t, w, "retry_initial_ms", 10, 600'000)) h.retry_initial = ms(*x);
      if (auto x = v.get_int(*t, w, "queue_limit", 10, 1'000'000)) {
        h.queue_limit = static_cast<size_t>(*x);
      }
      c.webhooks.push_back(std::move(h));
    }
  }
}

// ---- end of events settings ----

// ---- Analysis settings: [camera.analysis] and [[camera.zone]] --------------------------------

AnalysisSettings parse_analysis(const Validator& v, const toml::node* analysis,
                                const toml::node* zones, const std::string& camera) {
  AnalysisSettings a;
  if (analysis) {
    const std::string where = camera + "analysis";
    const toml::table* t = analysis->as_table();
    if (!t) v.fail(where, Validator::describe(*analysis), "must be a table");
    v.only_keys(*t, where,
                {"enabled", "fps", "sensitivity", "min_area", "decode", "tamper",
                 "signal_timeout_ms"});
    const std::string w = where + ".";
    a.enabled = v.get_bool(*t, w, "enabled", a.enabled);
    if (const toml::node* n = t->get("fps")) {
      const std::optional<double> fps = n->value<double>();
      if (!fps || *fps < 0.2 || *fps > 30) {
        v.fail(w + "fps", Validator::describe(*n), "must be a number between 0.2 and 30");
      }
      a.fps = *fps;
    }
    if (auto x = v.get_int(*t, w, "sensitivity", 1, 100)) a.sensitivity = static_cast<int>(*x);
    if (const toml::node* n = t->get("min_area")) {
      const std::optional<double> m = n->value<double>();
      if (!m || *m < 0.0001 || *m > 0.5) {
        v.fail(w + "min_area", Validator::describe(*n),
               "must be a fraction of the picture between 0.0001 and 0.5");
      }
      a.min_area = *m;
    }
    const std::string decode = v.get_string(*t, w, "decode", "auto");
    if (decode == "auto") {
      a.decode = AnalysisDecode::kAuto;
    } else if (decode == "all") {
      a.decode = AnalysisDecode::kAll;
    } else if (decode == "adaptive") {
      a.decode = AnalysisDecode::kAdaptive;
    } else {
      v.fail(w + "decode", "\"" + decode + "\"", "must be \"auto\", \"all\" or \"adaptive\"");
    }
    a.tamper = v.get_bool(*t, w, "tamper", a.tamper);
    if (auto x = v.get_int(*t, w, "signal_timeout_ms", 1'000, 3'600'000)) {
      a.signal_timeout = std::chrono::milliseconds(*x);
    }
  }
  if (zones) {
    const toml::array* arr = zones->as_array();
    if (!arr) v.fail(camera + "zone", Validator::describe(*zones), "must be an array of tables ([[camera.zone]])");
    static const std::regex name_re("^[a-z0-9][a-z0-9_-]{0,31}$");
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string where = camera + "zone[" + std::to_string(i) + "]";
      const toml::table* t = (*arr)[i].as_table();
      if (!t) v.fail(where, Validator::describe((*arr)[i]), "must be a table");
      v.only_keys(*t, where, {"name", "points", "mask"});
      const std::string w = where + ".";
      ZoneConfig z;
      z.name = v.get_string(*t, w, "name", "");
      if (!std::regex_match(z.name, name_re)) {
        v.fail(w + "name", "\"" + z.name + "\"",
               "must be 1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit");
      }
      for (const ZoneConfig& other : a.zones) {
        if (other.name == z.name) v.fail(w + "name", "\"" + z.name + "\"", "is used twice");
      }
      z.mask = v.get_bool(*t, w, "mask", false);
      const toml::node* pn = t->get("points");
      const toml::array* pts = pn ? pn->as_array() : nullptr;
      if (!pts || pts->size() < 3) {
        v.fail(w + "points", pn ? Validator::describe(*pn) : "(missing)",
               "must list at least 3 points [x, y] in 0..1, e.g. [[0, 0], [0.5, 0], [0.5, 1]]");
      }
      for (size_t k = 0; k < pts->size(); ++k) {
        const toml::array* p = (*pts)[k].as_array();
        std::optional<double> x, y;
        if (p && p->size() == 2) {
          x = (*p)[0].value<double>();
          y = (*p)[1].value<double>();
        }
        if (!x || !y || *x < 0 || *x > 1 || *y < 0 || *y > 1) {
          v.fail(w + "points[" + std::to_string(k) + "]", Validator::describe((*pts)[k]),
                 "must be [x, y] with both between 0 and 1 (fractions of width and height)");
        }
        z.points.emplace_back(static_cast<float>(*x), static_cast<float>(*y));
      }
      a.zones.push_back(std::move(z));
    }
  }
  return a;
}

// ---- end of analysis settings ----------------------------------------------------------------


// ---- Tills: [[till]] with [till.map] and [till.rules] (docs/transactions.md) -----------------

// "host:port" as printer_listen / printer_forward take it: an IPv4 or IPv6 literal (IPv6 in
// brackets) or a host name, and a port 1-65535.
bool valid_host_port(const std::string& text) {
  static const std::regex re(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return false;
  const int port = std::stoi(m[2].str());
  return port >= 1 && port <= 65535;
}

void parse_tills(const Validator& v, const toml::table& root, Config& c) {
  const toml::node* n = root.get("till");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) v.fail("till", Validator::describe(*n), "must be an array of tables ([[till]])");
  static const std::regex id_re("^[a-z0-9][a-z0-9_-]{0,31}$");
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string where = "till[" + std::to_string(i) + "]";
    const toml::table* t = (*arr)[i].as_table();
    if (!t) v.fail(where, Validator::describe((*arr)[i]), "must be a table");
    v.only_keys(*t, where,
                {"id", "name", "cameras", "clock_offset_ms", "printer_listen", "printer_forward",
                 "printer_language",
                 "total_pattern", "refund_pattern", "void_pattern", "qr_pattern", "card_pattern",
                 "cash_pattern", "map", "webhook_secret", "rules"});
    const std::string w = where + ".";
    TillConfig till;
    till.id = v.get_string(*t, w, "id", "");
    if (!std::regex_match(till.id, id_re)) {
      v.fail(w + "id", "\"" + till.id + "\"",
             "must be 1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit");
    }
    if (c.find_till(till.id)) v.fail(w + "id", "\"" + till.id + "\"", "is used twice");
    till.name = v.get_string(*t, w, "name", till.id);
    if (const toml::node* cn = t->get("cameras")) {
      const toml::array* cams = cn->as_array();
      if (!cams) v.fail(w + "cameras", Validator::describe(*cn), "must be a list of camera ids");
      for (size_t k = 0; k < cams->size(); ++k) {
        const toml::node& e = (*cams)[k];
        const std::string key = w + "cameras[" + std::to_string(k) + "]";
        if (!e.is_string()) v.fail(key, Validator::describe(e), "must be a camera id");
        const std::string id = *e.value<std::string>();
        // A typo would link the till to no footage at all: refused like a schedule's zone.
        if (!c.find_camera(id)) v.fail(key, "\"" + id + "\"", "names no [[camera]]");
        till.cameras.push_back(id);
      }
    }
    if (auto x = v.get_int(*t, w, "clock_offset_ms", -86'400'000, 86'400'000)) {
      till.clock_offset = std::chrono::milliseconds(*x);
    }
    for (const char* key : {"printer_listen", "printer_forward"}) {
      const std::string addr = v.get_string(*t, w, key, "");
      if (!addr.empty() && !valid_host_port(addr)) {
        v.fail(w + key, "\"" + addr + "\"", "must be host:port such as \"0.0.0.0:9101\"");
      }
      (std::string_view(key) == "printer_listen" ? till.printer_listen : till.printer_forward) = addr;
    }
    till.printer_language = v.get_string(*t, w, "printer_language", till.printer_language);
    if (till.printer_language != "esc-pos" && till.printer_language != "star-prnt" &&
        till.printer_language != "star-line") {
      v.fail(w + "printer_language", "\"" + till.printer_language + "\"",
             "must be \"esc-pos\", \"star-prnt\" or \"star-line\"");
    }
    if (!till.printer_forward.empty() && till.printer_listen.empty()) {
      v.fail(w + "printer_forward", "\"" + till.printer_forward + "\"",
             "needs printer_listen (vigil forwards what it receives there)");
    }
    const std::pair<const char*, std::string*> patterns[] = {
        {"total_pattern", &till.total_pattern}, {"refund_pattern", &till.refund_pattern},
        {"void_pattern", &till.void_pattern},   {"qr_pattern", &till.qr_pattern},
        {"card_pattern", &till.card_pattern},   {"cash_pattern", &till.cash_pattern}};
    for (const auto& [key, field] : patterns) {
      *field = v.get_string(*t, w, key, *field);
      try {
        const std::regex re(*field);
        if (std::string_view(key) == "total_pattern" && re.mark_count() < 1) {
          v.fail(w + key, "'" + *field + "'", "needs a group ( ) around the amount");
        }
      } catch (const std::regex_error& e) {
        v.fail(w + key, "'" + *field + "'", std::string("is not a valid regular expression: ") + e.what());
      }
    }
    if (const toml::node* mn = t->get("map")) {
      const toml::table* m = mn->as_table();
      if (!m) v.fail(w + "map", Validator::describe(*mn), "must be a table ([till.map])");
      v.only_keys(*m, w + "map",
                  {"total", "amount", "currency", "reference", "kind", "method", "time", "cashier",
                   "text"});
      for (const auto& [k, node] : *m) {
        const std::string key(k.str());
        const std::string ptr = v.get_string(*m, w + "map.", key.c_str(), "");
        // RFC 6901: "" is the whole document, otherwise every reference token follows a '/'.
        if (ptr.empty() || ptr[0] != '/') {
          v.fail(w + "map." + key, "\"" + ptr + "\"",
                 "must be a JSON pointer such as \"/amount/value\"");
        }
        till.map.emplace_back(key, ptr);
      }
    }
    till.webhook_secret = v.get_string(*t, w, "webhook_secret", "");
    if (const toml::node* rn = t->get("rules")) {
      const toml::table* r = rn->as_table();
      if (!r) v.fail(w + "rules", Validator::describe(*rn), "must be a table ([till.rules])");
      const std::string rw = w + "rules.";
      v.only_keys(*r, w + "rules",
                  {"refund_above", "void_above", "no_sale", "open_from", "open_to",
                   "burst_count", "burst_minutes", "drawer_open_seconds", "customer_zone",
                   "customer_seconds"});
      TillRules& rules = till.rules;
      rules.refund_above_minor = v.get_int(*r, rw, "refund_above", 0, INT64_MAX / 2);
      rules.void_above_minor = v.get_int(*r, rw, "void_above", 0, INT64_MAX / 2);
      rules.no_sale = v.get_bool(*r, rw, "no_sale", false);
      if (r->get("open_from") || r->get("open_to")) {
        if (!r->get("open_from") || !r->get("open_to")) {
          v.fail(rw + (r->get("open_from") ? "open_to" : "open_from"), "(missing)",
                 "open_from and open_to must be set together");
        }
        rules.open_from = get_clock_time(v, *r, rw, "open_from", std::chrono::minutes(0), false);
        rules.open_to = get_clock_time(v, *r, rw, "open_to", std::chrono::minutes(0), true);
      }
      if (auto x = v.get_int(*r, rw, "burst_count", 1, 1000)) rules.burst_count = static_cast<int>(*x);
      if (auto x = v.get_int(*r, rw, "burst_minutes", 1, 24 * 60)) {
        if (rules.burst_count == 0) {
          v.fail(rw + "burst_minutes", std::to_string(*x), "needs burst_count");
        }
        rules.burst_window = std::chrono::minutes(*x);
      }
      if (auto x = v.get_int(*r, rw, "drawer_open_seconds", 1, 24 * 3600)) {
        rules.drawer_open_limit = std::chrono::seconds(*x);
      }
      rules.customer_zone = v.get_string(*r, rw, "customer_zone", "");
      if (!rules.customer_zone.empty()) {
        // Motion is reported per zone of the camera that analyses it: the zone must be one of
        // the counter camera's (not a mask), or the rule would see nobody, ever.
        const CameraConfig* counter = till.cameras.empty() ? nullptr : c.find_camera(till.cameras.front());
        const bool found = counter && std::any_of(counter->analysis.zones.begin(), counter->analysis.zones.end(),
                                                  [&](const ZoneConfig& z) { return !z.mask && z.name == rules.customer_zone; });
        if (!found) {
          v.fail(rw + "customer_zone", "\"" + rules.customer_zone + "\"",
                 "names no zone of the till's first camera (cameras[0])");
        }
        if (counter && !counter->analysis.enabled) {
          v.fail(rw + "customer_zone", "\"" + rules.customer_zone + "\"",
                 "needs analysis on the till's first camera ([camera.analysis] enabled = true)");
        }
      }
      if (auto x = v.get_int(*r, rw, "customer_seconds", 1, 3600)) {
        if (rules.customer_zone.empty()) v.fail(rw + "customer_seconds", std::to_string(*x), "needs customer_zone");
        rules.customer_window = std::chrono::seconds(*x);
      }
    }
    c.tills.push_back(std::move(till));
  }
}

}  // namespace

std::filesystem::path HttpSettings::default_web_root() {
#ifdef VIGIL_DEFAULT_WEB_ROOT
  return VIGIL_DEFAULT_WEB_ROOT;
#else
  return {};
#endif
}

std::string Config::catalog_location() const {
  return catalog_is_file() ? (data_dir / "vigil.db").string() : catalog.url;
}

const CameraConfig* Config::find_camera(const std::string& id) const {
  for (const auto& c : cameras) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const TillConfig* Config::find_till(const std::string& id) const {
  for (const auto& t : tills)
    if (t.id == id) return &t;
  return nullptr;
}

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTkmgt]?)(i?)([Bb]?)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  const double number = std::stod(m[1].str());
  const char unit = m[2].length() ? static_cast<char>(std::toupper(m[2].str()[0])) : ' ';
  const bool binary = m[3].length() > 0;
  if (binary && unit == ' ') return std::nullopt;  // "5iB" is not a size
  const double base = binary ? 1024.0 : 1000.0;
  double mult = 1;
  switch (unit) {
    case 'T': mult *= base; [[fallthrough]];
    case 'G': mult *= base; [[fallthrough]];
    case 'M': mult *= base; [[fallthrough]];
    case 'K': mult *= base; break;
    default: break;
  }
  const double bytes = number * mult;
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

Config parse_config(const std::string& text, const std::string& source,
                    const std::filesystem::path& base_dir) {
  Validator v(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    throw Error(ErrorCode::kInvalidArgument, os.str());
  }
  v.only_keys(root, "",
              {"data_dir", "segment_seconds", "min_free_space", "disk_low_space", "retention",
               "ingest", "http", "camera", "events", "mqtt", "webhook", "integrity", "audit",
               "till", "exports", "archive", "catalog"});

  Config c;
  c.source = source;
  const std::string data_dir = v.get_string(root, "", "data_dir", "");
  if (data_dir.empty()) v.fail("data_dir", "(missing)", "set the folder where footage is kept");
  c.data_dir = std::filesystem::path(data_dir).is_absolute() ? std::filesystem::path(data_dir)
                                                              : base_dir / data_dir;
  c.data_dir = c.data_dir.lexically_normal();
  if (auto s = v.get_int(root, "", "segment_seconds", 10, 3600)) {
    c.segment_duration = std::chrono::seconds(*s);
  }
  if (auto b = v.get_bytes(root, "", "min_free_space")) c.min_free_bytes = *b;
  c.disk_low_bytes = v.get_bytes(root, "", "disk_low_space");
  c.default_retention = v.get_retention(root.get("retention"), "retention");

  if (const toml::node* n = root.get("ingest")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("ingest", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "ingest",
                {"io_timeout_ms", "backoff_initial_ms", "backoff_max_ms", "read_batch_ms"});
    auto ms = [](int64_t x) { return std::chrono::milliseconds(x); };
    if (auto x = v.get_int(*t, "ingest.", "io_timeout_ms", 500, 120'000)) c.ingest.io_timeout = ms(*x);
    if (auto x = v.get_int(*t, "ingest.", "backoff_initial_ms", 10, 60'000)) c.ingest.backoff_initial = ms(*x);
    if (auto x = v.get_int(*t, "ingest.", "backoff_max_ms", 10, 3'600'000)) c.ingest.backoff_max = ms(*x);
    if (auto x = v.get_int(*t, "ingest.", "read_batch_ms", 0, 1'000)) c.ingest.read_batch = ms(*x);
    if (c.ingest.backoff_max < c.ingest.backoff_initial) {
      v.fail("ingest.backoff_max_ms", std::to_string(c.ingest.backoff_max.count()),
             "must not be smaller than ingest.backoff_initial_ms");
    }
  }

  if (const toml::node* n = root.get("exports")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("exports", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "exports",
                {"max_running", "max_running_per_user", "max_stored_per_user", "max_stored_bytes"});
    ExportSettings& e = c.exports;
    if (auto x = v.get_int(*t, "exports.", "max_running", 1, 64)) e.max_running = static_cast<int>(*x);
    if (auto x = v.get_int(*t, "exports.", "max_running_per_user", 1, 64)) {
      e.max_running_per_user = static_cast<int>(*x);
    }
    if (auto x = v.get_int(*t, "exports.", "max_stored_per_user", 1, 1000)) {
      e.max_stored_per_user = static_cast<int>(*x);
    }
    e.max_stored_bytes = v.get_bytes(*t, "exports.", "max_stored_bytes");
    if (e.max_stored_bytes && *e.max_stored_bytes > c.min_free_bytes) {
      v.fail("exports.max_stored_bytes", std::to_string(*e.max_stored_bytes),
             "must not exceed min_free_space (" + std::to_string(c.min_free_bytes) +
                 "): exports are kept in retention's free-space reserve");
    }
  }

  if (const toml::node* n = root.get("integrity")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("integrity", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "integrity",
                {"checkpoint_seconds", "tsa_url", "tsa_ca", "tsa_timeout_seconds",
                 "tsa_batch_seconds", "tsa_retry_seconds", "tsa_backlog_hours",
                 "tsa_backlog_max"});
    if (auto x = v.get_int(*t, "integrity.", "checkpoint_seconds", 1, 3600)) {
      c.checkpoint_period = std::chrono::seconds(*x);
    }
    TsaSettings& tsa = c.tsa;
    tsa.url = v.get_string(*t, "integrity.", "tsa_url", "");
    if (!tsa.url.empty() && !is_http_url(tsa.url)) {
      v.fail("integrity.tsa_url", "\"" + redact_url(tsa.url) + "\"",
             "must be an http:// or https:// URL of an RFC 3161 time-stamping authority");
    }
    tsa.ca_file = get_ca_file(v, *t, "integrity.", "tsa_ca");
    if (!tsa.ca_file.empty() && tsa.url.empty()) {
      v.fail("integrity.tsa_ca", "\"" + tsa.ca_file.string() + "\"", "needs integrity.tsa_url");
    }
    auto secs = [](int64_t x) { return std::chrono::seconds(x); };
    if (auto x = v.get_int(*t, "integrity.", "tsa_timeout_seconds", 1, 300)) tsa.timeout = secs(*x);
    if (auto x = v.get_int(*t, "integrity.", "tsa_batch_seconds", 1, 3600)) {
      tsa.batch_period = secs(*x);
    }
    if (auto x = v.get_int(*t, "integrity.", "tsa_retry_seconds", 1, 7 * 86400)) {
      tsa.retry_for = secs(*x);
    }
    if (auto x = v.get_int(*t, "integrity.", "tsa_backlog_hours", 0, 30 * 24)) {
      tsa.backlog = std::chrono::hours(*x);
    }
    if (auto x = v.get_int(*t, "integrity.", "tsa_backlog_max", 1, 1'000'000)) {
      tsa.backlog_max = *x;
    }
  }

  if (const toml::node* n = root.get("catalog")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("catalog", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "catalog", {"url"});
    c.catalog.url = v.get_string(*t, "catalog.", "url", "");
    static const std::regex pg_url("^postgres(ql)?://[^\\s]*$");
    if (!std::regex_match(c.catalog.url, pg_url)) {
      // Without its query, where a password may be too (?password=).
      v.fail("catalog.url",
             "\"" + redact_url(c.catalog.url.substr(0, c.catalog.url.find('?'))) + "\"",
             "must be a postgresql:// URL (leave [catalog] out for vigil.db in data_dir)");
    }
  }

  if (const toml::node* n = root.get("archive")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("archive", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "archive",
                {"url", "endpoint", "region", "access_key_id", "secret_access_key", "ca_file",
                 "after_days", "part_size", "etag_is_md5"});
    ArchiveSettings& a = c.archive;
    const std::string url = v.get_string(*t, "archive.", "url", "");
    static const std::regex s3_url("^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/(.*))?$");
    std::smatch m;
    if (!std::regex_match(url, m, s3_url)) {
      v.fail("archive.url", "\"" + url + "\"",
             "must be s3://bucket or s3://bucket/prefix (a bucket name: 3-63 characters of "
             "a-z 0-9 . -)");
    }
    a.bucket = m[1];
    a.prefix = m[3];
    if (!a.prefix.empty() && a.prefix.back() != '/') a.prefix += '/';
    a.endpoint = v.get_string(*t, "archive.", "endpoint", "");
    if (!is_http_url(a.endpoint) || a.endpoint.find('@') != std::string::npos) {
      v.fail("archive.endpoint", "\"" + redact_url(a.endpoint) + "\"",
             "must be the store's http:// or https:// URL, without credentials (they go in "
             "access_key_id and secret_access_key)");
    }
    a.region = v.get_string(*t, "archive.", "region", a.region);
    if (a.region.empty()) v.fail("archive.region", "\"\"", "name the store's region");
    a.access_key_id = v.get_string(*t, "archive.", "access_key_id", "");
    a.secret_access_key = v.get_string(*t, "archive.", "secret_access_key", "");
    if (a.access_key_id.empty() || a.secret_access_key.empty()) {
      v.fail("archive.access_key_id", "(missing)",
             "the store needs access_key_id and secret_access_key");
    }
    a.ca_file = get_ca_file(v, *t, "archive.");
    if (const toml::node* d = t->get("after_days")) {
      const std::optional<double> days = d->value<double>();  // integer or float
      if (!days || !(*days >= 0 && *days <= 36500)) {
        v.fail("archive.after_days", Validator::describe(*d), "must be a number of days, 0-36500");
      }
      a.after = std::chrono::seconds(static_cast<int64_t>(*days * 86400));
    }
    if (auto b = v.get_bytes(*t, "archive.", "part_size")) {
      if (*b < (5ull << 20) || *b > (5ull << 30)) {
        v.fail("archive.part_size", std::to_string(*b), "must be between 5MiB and 5GiB (S3's limits)");
      }
      a.part_size = *b;
    }
    a.etag_is_md5 = v.get_bool(*t, "archive.", "etag_is_md5", a.etag_is_md5);
  }

  if (const toml::node* n = root.get("audit")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("audit", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "audit", {"syslog", "syslog_socket"});
    c.audit.syslog = v.get_bool(*t, "audit.", "syslog", c.audit.syslog);
    const std::string sock = v.get_string(*t, "audit.", "syslog_socket", "");
    if (!sock.empty()) {
      if (!std::filesystem::path(sock).is_absolute()) {
        v.fail("audit.syslog_socket", "\"" + sock + "\"", "must be an absolute path");
      }
      c.audit.syslog_socket = sock;
    }
  }

  if (const toml::node* n = root.get("http")) {
    const toml::table* t = n->as_table();
    if (!t) v.fail("http", Validator::describe(*n), "must be a table");
    v.only_keys(*t, "http",
                {"enabled", "address", "port", "tls_cert", "tls_key", "threads", "max_connections",
                 "header_limit", "body_limit", "read_timeout_ms", "idle_timeout_ms",
                 "session_hours", "web_root", "allowed_hosts", "trusted_proxies",
                 "max_connections_per_address", "header_timeout_ms", "password_queue_limit",
                 "require_2fa_for_admins"});
    HttpSettings& h = c.http;
    h.enabled = v.get_bool(*t, "http.", "enabled", h.enabled);
    h.require_2fa_for_admins =
        v.get_bool(*t, "http.", "require_2fa_for_admins", h.require_2fa_for_admins);
    h.address = v.get_string(*t, "http.", "address", h.address);
    // An IP literal only: a host name would make the bind depend on DNS at start.
    static const std::regex ip_re(
        R"(^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$)");
    if (!std::regex_match(h.address, ip_re)) {
      v.fail("http.address", "\"" + h.address + "\"",
             "must be an IPv4 or IPv6 address such as \"0.0.0.0\", \"127.0.0.1\" or \"::\"");
    }
    if (auto x = v.get_int(*t, "http.", "port", 0, 65535)) h.port = static_cast<int>(*x);
    auto file = [&](const char* key) -> std::filesystem::path {
      const std::string f = v.get_string(*t, "http.", key, "");
      if (f.empty()) return {};
      return std::filesystem::path(f).is_absolute() ? std::filesystem::path(f) : base_dir / f;
    };
    h.tls_cert = file("tls_cert");
    h.tls_key = file("tls_key");
    if (auto w = file("web_root"); !w.empty()) h.web_root = w;
    if (h.tls_cert.empty() != h.tls_key.empty()) {
      const char* missing = h.tls_cert.empty() ? "http.tls_cert" : "http.tls_key";
      v.fail(missing, "(missing)", "tls_cert and tls_key must be set together");
    }
    if (auto x = v.get_int(*t, "http.", "threads", 1, 64)) h.threads = static_cast<int>(*x);
    if (auto x = v.get_int(*t, "http.", "max_connections", 1, 100'000)) {
      h.max_connections = static_cast<int>(*x);
    }
    if (auto b = v.get_bytes(*t, "http.", "header_limit")) {
      if (*b < 1024 || *b > 1024 * 1024) {
        v.fail("http.header_limit", std::to_string(*b), "must be between 1KiB and 1MiB");
      }
      h.header_limit = *b;
    }
    if (auto b = v.get_bytes(*t, "http.", "body_limit")) {
      if (*b < 1024 || *b > (1ull << 30)) {
        v.fail("http.body_limit", std::to_string(*b), "must be between 1KiB and 1GiB");
      }
      h.body_limit = *b;
    }
    auto ms = [](int64_t x) { return std::chrono::milliseconds(x); };
    if (auto x = v.get_int(*t, "http.", "read_timeout_ms", 100, 600'000)) h.read_timeout = ms(*x);
    if (auto x = v.get_int(*t, "http.", "idle_timeout_ms", 100, 3'600'000)) h.idle_timeout = ms(*x);
    if (auto x = v.get_int(*t, "http.", "header_timeout_ms", 100, 600'000)) h.header_timeout = ms(*x);
    if (auto x = v.get_int(*t, "http.", "session_hours", 1, 24 * 365)) {
      h.session_lifetime = std::chrono::hours(*x);
    }
    if (auto x = v.get_int(*t, "http.", "password_queue_limit", 1, 10'000)) {
      h.password_queue_limit = static_cast<int>(*x);
    }
    if (auto x = v.get_int(*t, "http.", "max_connections_per_address", 1, 100'000)) {
      h.max_connections_per_address = static_cast<int>(*x);
    }
    auto strings = [&](const char* key) {
      std::vector<std::string> out;
      const toml::node* n = t->get(key);
      if (!n) return out;
      const std::string where = std::string("http.") + key;
      const toml::array* arr = n->as_array();
      if (!arr) v.fail(where, Validator::describe(*n), "must be a list of strings");
      for (size_t i = 0; i < arr->size(); ++i) {
        const toml::node& e = (*arr)[i];
        if (!e.is_string() || e.value<std::string>()->empty()) {
          v.fail(where + "[" + std::to_string(i) + "]", Validator::describe(e),
                 "must be a non-empty string");
        }
        out.push_back(*e.value<std::string>());
      }
      return out;
    };
    h.allowed_hosts = strings("allowed_hosts");
    h.trusted_proxies = strings("trusted_proxies");
    for (size_t i = 0; i < h.trusted_proxies.size(); ++i) {
      if (!parse_ip_network(h.trusted_proxies[i])) {
        v.fail("http.trusted_proxies[" + std::to_string(i) + "]",
               "\"" + h.trusted_proxies[i] + "\"",
               "must be an IP address or a network such as \"10.0.0.0/8\"");
      }
    }
  }

  parse_events_settings(v, root, c);

  static const std::regex id_re("^[a-z0-9][a-z0-9_-]{0,31}$");
  if (const toml::node* n = root.get("camera")) {
    const toml::array* arr = n->as_array();
    if (!arr) v.fail("camera", Validator::describe(*n), "must be an array of tables ([[camera]])");
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string where = "camera[" + std::to_string(i) + "]";
      const toml::table* t = (*arr)[i].as_table();
      if (!t) v.fail(where, Validator::describe((*arr)[i]), "must be a table");
      v.only_keys(*t, where,
                  {"id", "name", "url", "sub_url", "record_sub", "onvif_url", "onvif_profile",
                   "enabled", "transport", "rtsp_client", "auth", "audio", "retention",
                   "sub_retention", "schedule", "record", "analysis",
                   "zone"});
      CameraConfig cam;
      const std::string w = where + ".";
      cam.id = v.get_string(*t, w, "id", "");
      if (!std::regex_match(cam.id, id_re)) {
        v.fail(w + "id", "\"" + cam.id + "\"",
               "must be 1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit");
      }
      if (c.find_camera(cam.id)) v.fail(w + "id", "\"" + cam.id + "\"", "is used twice");
      cam.name = v.get_string(*t, w, "name", cam.id);
      cam.url = v.get_string(*t, w, "url", "");
      if (cam.url.rfind("rtsp://", 0) != 0 && cam.url.rfind("rtsps://", 0) != 0) {
        v.fail(w + "url", "\"" + redact_url(cam.url) + "\"", "must be an rtsp:// or rtsps:// URL");
      }
      cam.sub_url = v.get_string(*t, w, "sub_url", "");
      if (!cam.sub_url.empty() && cam.sub_url.rfind("rtsp://", 0) != 0 &&
          cam.sub_url.rfind("rtsps://", 0) != 0) {
        v.fail(w + "sub_url", "\"" + redact_url(cam.sub_url) + "\"",
               "must be an rtsp:// or rtsps:// URL");
      }
      cam.record_sub = v.get_bool(*t, w, "record_sub", false);
      if (cam.record_sub && cam.sub_url.empty()) {
        v.fail(w + "record_sub", "true", "needs a sub_url (the sub stream to record)");
      }
      cam.onvif_url = v.get_string(*t, w, "onvif_url", "");
      if (!cam.onvif_url.empty() && cam.onvif_url.rfind("http://", 0) != 0 &&
          cam.onvif_url.rfind("https://", 0) != 0) {
        v.fail(w + "onvif_url", "\"" + redact_url(cam.onvif_url) + "\"",
               "must be the camera's http:// or https:// ONVIF device service URL");
      }
      cam.onvif_profile = v.get_string(*t, w, "onvif_profile", "");
      cam.enabled = v.get_bool(*t, w, "enabled", true);
      const std::string transport = v.get_string(*t, w, "transport", "tcp");
      if (transport == "tcp") {
        cam.transport = RtspTransport::kTcp;
      } else if (transport == "udp") {
        cam.transport = RtspTransport::kUdp;
      } else {
        v.fail(w + "transport", "\"" + transport + "\"", "must be \"tcp\" or \"udp\"");
      }
      const std::string client = v.get_string(*t, w, "rtsp_client", "native");
      if (client == "native") {
        cam.client = RtspClient::kNative;
      } else if (client == "ffmpeg") {
        cam.client = RtspClient::kFfmpeg;
      } else {
        v.fail(w + "rtsp_client", "\"" + client + "\"", "must be \"native\" or \"ffmpeg\"");
      }
      const std::string auth = v.get_string(*t, w, "auth", "digest");
      if (auth == "basic") {
        cam.auth = RtspAuth::kBasic;
      } else if (auth != "digest") {
        v.fail(w + "auth", "\"" + auth + "\"", "must be \"digest\" or \"basic\"");
      }
      const std::string audio = v.get_string(*t, w, "audio", "auto");
      if (audio == "aac") {
        cam.audio = CameraAudio::kAac;
      } else if (audio != "auto") {
        v.fail(w + "audio", "\"" + audio + "\"",
               "must be \"auto\" (AAC as sent) or \"aac\" (G.711 converted to AAC too)");
      }
      cam.retention = v.get_retention(t->get("retention"), w + "retention");
      if (!cam.retention.max_days) cam.retention.max_days = c.default_retention.max_days;
      if (!cam.retention.max_bytes) cam.retention.max_bytes = c.default_retention.max_bytes;
      cam.sub_retention = v.get_retention(t->get("sub_retention"), w + "sub_retention");
      if (!cam.sub_retention.max_days) cam.sub_retention.max_days = cam.retention.max_days;
      if (!cam.sub_retention.max_bytes) cam.sub_retention.max_bytes = cam.retention.max_bytes;
      // events: schedules and recording mode
      cam.schedule = get_schedule(v, t->get("schedule"), w + "schedule");
      const std::string record = v.get_string(*t, w, "record", "continuous");
      if (record == "events") {
        cam.record = RecordMode::kEvents;
      } else if (record != "continuous") {
        v.fail(w + "record", "\"" + record + "\"", "must be \"continuous\" or \"events\"");
      }

      cam.analysis = parse_analysis(v, t->get("analysis"), t->get("zone"), w);
      // A schedule for a zone that does not exist would never arm: a typo must not silently
      // disable alerts. Masks are not reported as zones, so they cannot be scheduled either.
      for (size_t k = 0; k < cam.schedule.size(); ++k) {
        const std::string& zone = cam.schedule[k].zone;
        if (zone.empty()) continue;
        bool found = false;
        for (const ZoneConfig& z : cam.analysis.zones) found = found || (z.name == zone && !z.mask);
        if (!found) {
          v.fail(w + "schedule[" + std::to_string(k) + "].zone", "\"" + zone + "\"",
                 "names no [[camera.zone]] of this camera (a mask cannot be scheduled)");
        }
      }
      c.cameras.push_back(std::move(cam));
    }
  }
  parse_tills(v, root, c);
  return c;
}

std::string camera_of_stream(const std::string& catalog_id) {
  static const std::string kSub = sub_stream_id("");
  if (catalog_id.size() > kSub.size() && catalog_id.ends_with(kSub)) {
    return catalog_id.substr(0, catalog_id.size() - kSub.size());
  }
  return catalog_id;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw Error(ErrorCode::kNotFound, file.string() + ": cannot read the configuration file");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), file.string(), std::filesystem::absolute(file).parent_path());
}

}  // namespace vigil
