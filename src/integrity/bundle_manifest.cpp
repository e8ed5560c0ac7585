// manifest.json of an evidence bundle: writing, and parsing it back without trusting it.
#include "integrity/bundle_manifest.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

// Bounds that no real bundle reaches (a day of 2-s fragments is 43200 entries) but keep a
// hostile manifest from asking for absurd work.
constexpr size_t kMaxEntries = 10'000'000;
constexpr uint64_t kMaxBytes = uint64_t{1} << 46;  // 64 TiB
// Times from 1970 to the end of year 9999 and durations up to ~400 years: what format_iso8601
// can print, and far enough from INT64_MAX that start + duration cannot overflow.
constexpr int64_t kMaxWallMs = 253'402'300'799'999;
constexpr int64_t kMaxTicks = int64_t{1} << 50;

ojson time_json(WallTime t) { return format_iso8601(t); }

// Field readers for untrusted JSON: a missing or mistyped value gives a default and records the
// first error (naming the field) instead of throwing; ok() says whether all reads held.
class Fields {
 public:
  Fields(const json& object, std::string where) : o_(object), where_(std::move(where)) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  const json* field(const char* key) {
    if (!ok()) return nullptr;
    if (!o_.is_object()) {
      fail("is not an object");
      return nullptr;
    }
    auto it = o_.find(key);
    if (it == o_.end()) {
      fail(std::string("has no \"") + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  std::string str(const char* key) {
    const json* v = field(key);
    if (!v) return {};
    if (!v->is_string()) {
      fail_value(key, "is not a string");
      return {};
    }
    return v->get_ref<const std::string&>();
  }
  int64_t i64(const char* key) {
    const json* v = field(key);
    if (!v) return 0;
    if (v->is_number_unsigned()) {
      uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        fail_value(key, "is out of range");
        return {};
      }
      return static_cast<int64_t>(u);
    }
    if (!v->is_number_integer()) {
      fail_value(key, "is not an integer");
      return {};
    }
    return v->get<int64_t>();
  }
  uint64_t u64(const char* key, uint64_t max = UINT64_MAX) {
    const json* v = field(key);
    if (!v) return 0;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      {
        fail_value(key, "is not a non-negative integer");
        return {};
      }
    }
    uint64_t u = v->get<uint64_t>();
    if (u > max) {
      fail_value(key, "is out of range");
      return {};
    }
    return u;
  }
  Bytes hex_bytes(const char* key) {
    std::string s = str(key);
    if (!ok()) return {};
    auto b = from_hex(s);
    if (!b) {
      fail_value(key, "is not hex");
      return {};
    }
    return *b;
  }
  template <size_t N>
  std::array<uint8_t, N> hex_array(const char* key) {
    std::string s = str(key);
    if (!ok()) return {};
    auto a = from_hex_array<N>(s);
    if (!a) {
      fail_value(key, "is not " + std::to_string(N) + " bytes of hex");
      return {};
    }
    return *a;
  }
  WallTime time_ms(const char* key) {
    const int64_t ms = i64(key);
    if (ms < 0 || ms > kMaxWallMs) {
      fail_value(key, "is not a time between 1970 and 9999");
      return {};
    }
    return wall_from_ms(ms);
  }
  // A time given twice, as ms and as ISO 8601 text for readers: both must say the same.
  WallTime time_pair(const char* ms_key, const char* text_key) {
    const WallTime t = time_ms(ms_key);
    if (ok() && str(text_key) != format_iso8601(t) && ok()) {
      fail(std::string("\"") + text_key + "\" differs from \"" + ms_key + "\"");
    }
    return t;
  }
  Ticks90k ticks(const char* key) {
    const int64_t t = i64(key);
    if (t < 0 || t > kMaxTicks) {
      fail_value(key, "is not a duration in range");
      return {};
    }
    return Ticks90k{t};
  }
  ChainKind kind(const char* key) {
    std::string s = str(key);
    for (ChainKind k : {ChainKind::kFragment, ChainKind::kGap, ChainKind::kLost}) {
      if (s == chain_kind_name(k)) return k;
    }
    if (ok()) {
      fail_value(key, "is not fragment, gap or lost");
    }
    return ChainKind::kFragment;
  }
  const json& array(const char* key, size_t max) {
    static const json kEmpty = json::array();
    const json* v = field(key);
    if (!v) return kEmpty;
    if (!v->is_array()) {
      fail_value(key, "is not an array");
      return kEmpty;
    }
    if (v->size() > max) {
      fail_value(key, "has too many items");
      return kEmpty;
    }
    return *v;
  }
  const json& object(const char* key) {
    static const json kEmpty = json::object();
    const json* v = field(key);
    if (!v) return kEmpty;
    if (!v->is_object()) {
      fail_value(key, "is not an object");
      return kEmpty;
    }
    return *v;
  }
  // Adopts the first error of a nested reader.
  bool take(const Fields& inner) {
    if (ok() && !inner.ok()) error_ = inner.error_;
    return ok();
  }

 private:
  void fail(const std::string& what) {
    if (error_.empty()) error_ = where_ + " " + what;
  }
  void fail_value(const char* key, const std::string& what) {
    fail(std::string("\"") + key + "\" " + what);
  }

  const json& o_;
  std::string where_;
  std::string error_;
};

}  // namespace

std::string_view chain_kind_name(ChainKind kind) {
  switch (kind) {
    case ChainKind::kFragment:
      return "fragment";
    case ChainKind::kGap:
      return "gap";
    case ChainKind::kLost:
      return "lost";
  }
  return "unknown";
}

std::vector<ManifestGap> gaps_of(const std::vector<ManifestEntry>& entries) {
  std::vector<ManifestGap> gaps;
  for (const ManifestEntry& me : entries) {
    if (me.entry.kind == ChainKind::kFragment) continue;
    gaps.push_back({me.entry.sequence, me.entry.kind, me.entry.wall_start,
                    me.entry.wall_start + to_wall(me.entry.duration), me.entry.note});
  }
  return gaps;
}

std::string manifest_json(const Manifest& m) {
  ojson j;
  j["format"] = kBundleFormat;
  j["camera"] = {{"id", m.camera_id}, {"name", m.camera_name}};
  j["range"] = {{"from", time_json(m.from)},
                {"from_ms", ms_since_epoch(m.from)},
                {"to", time_json(m.to)},
                {"to_ms", ms_since_epoch(m.to)}};
  j["parts"] = ojson::array();
  for (const ManifestPart& p : m.parts) {
    j["parts"].push_back({{"file", p.file},
                          {"bytes", p.bytes},
                          {"init_bytes", p.init_bytes},
                          {"init_sha256", hex(p.init_hash)}});
  }
  j["entries"] = ojson::array();
  for (const ManifestEntry& me : m.entries) {
    const ChainEntry& e = me.entry;
    j["entries"].push_back({{"sequence", e.sequence},
                            {"kind", chain_kind_name(e.kind)},
                            {"wall_start", time_json(e.wall_start)},
                            {"wall_start_ms", ms_since_epoch(e.wall_start)},
                            {"duration_90k", e.duration.count()},
                            {"init_sha256", hex(e.init_hash)},
                            {"sha256", hex(e.fragment_hash)},
                            {"note", e.note},
                            {"canonical", hex(me.canonical.data(), me.canonical.size())},
                            {"link", hex(me.link)},
                            {"part", me.part},
                            {"offset", me.offset},
                            {"bytes", me.bytes}});
  }
  j["gaps"] = ojson::array();
  for (const ManifestGap& g : m.gaps) {
    j["gaps"].push_back({{"sequence", g.sequence},
                         {"kind", chain_kind_name(g.kind)},
                         {"from", time_json(g.from)},
                         {"to", time_json(g.to)},
                         {"reason", g.reason}});
  }
  j["checkpoints"] = ojson::array();
  for (size_t i = 0; i < m.checkpoints.size(); ++i) {
    const ManifestCheckpoint& c = m.checkpoints[i];
    ojson cj = {{"file", "checkpoints/" + std::to_string(i + 1)},
                {"sequence", c.checkpoint.sequence},
                {"head", hex(c.checkpoint.head)},
                {"wall_time", time_json(c.checkpoint.wall_time)},
                {"wall_time_ms", ms_since_epoch(c.checkpoint.wall_time)},
                {"audit_head", hex(c.checkpoint.audit_head)},
                {"message", hex(c.message.data(), c.message.size())},
                {"signature", hex(c.signature)},
                {"key", c.key_fingerprint},
                {"tsa_token", hex(c.tsa_token.data(), c.tsa_token.size())}};
    j["checkpoints"].push_back(std::move(cj));
  }
  j["keys"] = ojson::array();
  for (const ManifestKey& k : m.keys) {
    j["keys"].push_back({{"fingerprint", k.fingerprint}, {"pem", k.pem}});
  }
  j["exporter"] = {{"user", m.exporter.user},
                   {"time", time_json(m.exporter.time)},
                   {"time_ms", ms_since_epoch(m.exporter.time)},
                   {"address", m.exporter.address}};
  const ManifestAuditEntry& a = m.audit_entry;
  j["audit_entry"] = {{"id", a.id},
                      {"time", time_json(a.time)},
                      {"time_ms", ms_since_epoch(a.time)},
                      {"user", a.user},
                      {"action", a.action},
                      {"detail", a.detail},
                      {"address", a.address},
                      {"link", a.link}};
  if (!m.attachments.empty()) {
    j["attachments"] = ojson::array();
    for (const ManifestAttachment& at : m.attachments) {
      j["attachments"].push_back({{"file", at.file},
                                  {"kind", at.kind},
                                  {"bytes", at.bytes},
                                  {"sha256", hex(at.sha256)}});
    }
  }
  return j.dump(2) + "\n";
}

ManifestParse parse_manifest(std::string_view text) {
  ManifestParse out;
  // allow_exceptions = false: malformed JSON gives a discarded value instead of a throw.
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    out.error = "manifest.json is not valid JSON";
    return out;
  }
  Manifest m;
  Fields top(j, "manifest");
  if (top.str("format") != kBundleFormat && top.ok()) {
    out.error = "manifest.json is not a " + std::string(kBundleFormat) + " manifest";
    return out;
  }
  {
    Fields c(top.object("camera"), "camera");
    m.camera_id = c.str("id");
    m.camera_name = c.str("name");
    top.take(c);
  }
  {
    Fields r(top.object("range"), "range");
    m.from = r.time_pair("from_ms", "from");
    m.to = r.time_pair("to_ms", "to");
    top.take(r);
  }
  const json& parts = top.array("parts", 1000);
  for (size_t i = 0; i < parts.size() && top.ok(); ++i) {
    Fields p(parts[i], "parts[" + std::to_string(i) + "]");
    ManifestPart mp;
    mp.file = p.str("file");
    mp.bytes = p.u64("bytes", kMaxBytes);
    mp.init_bytes = p.u64("init_bytes", kMaxBytes);
    mp.init_hash = p.hex_array<32>("init_sha256");
    top.take(p);
    m.parts.push_back(std::move(mp));
  }
  const json& entries = top.array("entries", kMaxEntries);
  for (size_t i = 0; i < entries.size() && top.ok(); ++i) {
    Fields f(entries[i], "entries[" + std::to_string(i) + "]");
    ManifestEntry me;
    ChainEntry& e = me.entry;
    e.camera_id = m.camera_id;
    e.sequence = f.u64("sequence");
    e.kind = f.kind("kind");
    e.wall_start = f.time_pair("wall_start_ms", "wall_start");
    e.duration = f.ticks("duration_90k");
    e.init_hash = f.hex_array<32>("init_sha256");
    e.fragment_hash = f.hex_array<32>("sha256");
    e.note = f.str("note");
    me.canonical = f.hex_bytes("canonical");
    me.link = f.hex_array<32>("link");
    me.part = static_cast<uint32_t>(f.u64("part", 1000));
    me.offset = f.u64("offset", kMaxBytes);
    me.bytes = f.u64("bytes", kMaxBytes);
    top.take(f);
    m.entries.push_back(std::move(me));
  }
  const json& gaps = top.array("gaps", kMaxEntries);
  for (size_t i = 0; i < gaps.size() && top.ok(); ++i) {
    Fields g(gaps[i], "gaps[" + std::to_string(i) + "]");
    ManifestGap mg;
    mg.sequence = g.u64("sequence");
    mg.kind = g.kind("kind");
    mg.reason = g.str("reason");
    // Only the readable form is stored; the verifier compares it with what the entries say.
    const std::string from = g.str("from"), to = g.str("to");
    top.take(g);
    if (!top.ok()) break;
    // A gap is matched to its chain entry by sequence; its readable times must be the entry's.
    bool found = false;
    for (const ManifestEntry& me : m.entries) {
      if (me.entry.sequence != mg.sequence) continue;
      found = true;
      mg.from = me.entry.wall_start;
      mg.to = me.entry.wall_start + to_wall(me.entry.duration);
      if (format_iso8601(mg.from) != from || format_iso8601(mg.to) != to) {
        out.error = "gaps[" + std::to_string(i) + "]: times differ from chain entry " +
                    std::to_string(mg.sequence);
        return out;
      }
      break;
    }
    if (!found) {
      out.error = "gaps[" + std::to_string(i) + "]: no chain entry " + std::to_string(mg.sequence);
      return out;
    }
    m.gaps.push_back(std::move(mg));
  }
  const json& checkpoints = top.array("checkpoints", kMaxEntries);
  for (size_t i = 0; i < checkpoints.size() && top.ok(); ++i) {
    Fields f(checkpoints[i], "checkpoints[" + std::to_string(i) + "]");
    ManifestCheckpoint mc;
    Checkpoint& c = mc.checkpoint;
    c.camera_id = m.camera_id;
    if (f.str("file") != "checkpoints/" + std::to_string(i + 1) && f.ok()) {
      out.error = "checkpoints[" + std::to_string(i) + "]: unexpected file name";
      return out;
    }
    c.sequence = f.u64("sequence");
    c.head = f.hex_array<32>("head");
    c.wall_time = f.time_pair("wall_time_ms", "wall_time");
    c.audit_head = f.hex_array<32>("audit_head");
    mc.message = f.hex_bytes("message");
    mc.signature = f.hex_array<64>("signature");
    mc.key_fingerprint = f.str("key");
    mc.tsa_token = f.hex_bytes("tsa_token");
    top.take(f);
    m.checkpoints.push_back(std::move(mc));
  }
  const json& keys = top.array("keys", 1000);
  for (size_t i = 0; i < keys.size() && top.ok(); ++i) {
    Fields k(keys[i], "keys[" + std::to_string(i) + "]");
    ManifestKey mk{k.str("fingerprint"), k.str("pem")};
    top.take(k);
    m.keys.push_back(std::move(mk));
  }
  {
    Fields x(top.object("exporter"), "exporter");
    m.exporter.user = x.str("user");
    m.exporter.time = x.time_pair("time_ms", "time");
    m.exporter.address = x.str("address");
    top.take(x);
  }
  {
    Fields a(top.object("audit_entry"), "audit_entry");
    ManifestAuditEntry& ae = m.audit_entry;
    ae.id = a.i64("id");
    ae.time = a.time_pair("time_ms", "time");
    ae.user = a.str("user");
    ae.action = a.str("action");
    ae.detail = a.str("detail");
    ae.address = a.str("address");
    ae.link = a.str("link");
    top.take(a);
  }
  // Optional: bundles without attachments (and those written before they existed) have none.
  if (top.ok() && j.contains("attachments")) {
    const json& attachments = top.array("attachments", 100);
    for (size_t i = 0; i < attachments.size() && top.ok(); ++i) {
      Fields f(attachments[i], "attachments[" + std::to_string(i) + "]");
      ManifestAttachment at;
      at.file = f.str("file");
      at.kind = f.str("kind");
      at.bytes = f.u64("bytes", kMaxBytes);
      at.sha256 = f.hex_array<32>("sha256");
      top.take(f);
      m.attachments.push_back(std::move(at));
    }
    if (const auto bad = bad_attachment(m.attachments); bad && top.ok()) {
      out.error = "manifest.json: attachments[" + std::to_string(*bad) + "] \"file\" is not a "
                  "plain file name of its own: " + m.attachments[*bad].file.substr(0, 100);
      return out;
    }
  }
  if (!top.ok()) {
    out.error = "manifest.json: " + top.error();
    return out;
  }
  out.manifest = std::move(m);
  return out;
}

bool valid_attachment_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  // The bundle's own members; clips are clip.mp4 or clip-N.mp4.
  for (std::string_view own : {"manifest.json", "chain.tsv", "VERIFY.txt", "export.msg",
                               "export.sig", "key.pem"}) {
    if (name == own) return false;
  }
  return name.substr(0, 4) != "clip";
}

std::optional<size_t> bad_attachment(const std::vector<ManifestAttachment>& attachments) {
  for (size_t i = 0; i < attachments.size(); ++i) {
    const auto earlier = attachments.begin() + static_cast<ptrdiff_t>(i);
    if (!valid_attachment_name(attachments[i].file) ||
        std::any_of(attachments.begin(), earlier,
                    [&](const ManifestAttachment& o) { return o.file == attachments[i].file; })) {
      return i;
    }
  }
  return std::nullopt;
}

std::string chain_tsv(const Manifest& m) {
  std::string out = "# sequence\tkind\tpart\toffset\tbytes\tcanonical\tlink\n";
  for (const ManifestEntry& me : m.entries) {
    out += std::to_string(me.entry.sequence) + '\t' + std::string(chain_kind_name(me.entry.kind)) +
           '\t' + std::to_string(me.part) + '\t' + std::to_string(me.offset) + '\t' +
           std::to_string(me.bytes) + '\t' + hex(me.canonical.data(), me.canonical.size()) + '\t' +
           hex(me.link) + '\n';
  }
  return out;
}

Bytes export_statement(std::string_view manifest_bytes) {
  const Sha256 digest = sha256_of(manifest_bytes);
  Bytes out;
  out.reserve(kExportStatementTag.size() + digest.size());
  // Byte by byte: GCC 12 sees a false out-of-bounds memcpy in the range insert of a 15-byte view.
  for (char c : kExportStatementTag) out.push_back(static_cast<uint8_t>(c));
  for (uint8_t b : digest) out.push_back(b);
  return out;
}

}  // namespace vigil
