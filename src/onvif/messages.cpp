#include "onvif/messages.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/redact.h"
#include "core/xml.h"

namespace vigil::onvif {
namespace {

constexpr const char* kSoapNs = "http://www.w3.org/2003/05/soap-envelope";
constexpr const char* kAddressingNs = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
constexpr const char* kDiscoveryNs = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
constexpr const char* kNetworkNs = "http://www.onvif.org/ver10/network/wsdl";
constexpr const char* kWsseNs =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
constexpr const char* kWsuNs =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
constexpr const char* kDigestType =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest";
constexpr const char* kBase64Type =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"
    "#Base64Binary";
constexpr const char* kDeviceNs = "http://www.onvif.org/ver10/device/wsdl";
constexpr const char* kMediaNs = "http://www.onvif.org/ver10/media/wsdl";
constexpr const char* kPtzNs = "http://www.onvif.org/ver20/ptz/wsdl";
constexpr const char* kSchemaNs = "http://www.onvif.org/ver10/schema";

const xmlChar* x(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A velocity as xs:float text: "0.5", "-1", never an exponent or a locale's comma.
std::string xml_double(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  // to_chars ignores the locale, unlike printf.
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  std::string s(buf, r.ptr);
  // "0.500" -> "0.5", "1.000" -> "1": what cameras' own clients send.
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

// A new document whose root is soap:Envelope with a Header and a Body; returns the Body.
struct Envelope {
  XmlDoc doc;
  xmlNode* header = nullptr;
  xmlNode* body = nullptr;
  xmlNs* soap = nullptr;
};
Envelope new_envelope() {
  xml_init();
  Envelope e;
  e.doc.reset(xmlNewDoc(x("1.0")));
  xmlNode* root = xmlNewDocNode(e.doc.get(), nullptr, x("Envelope"), nullptr);
  xmlDocSetRootElement(e.doc.get(), root);
  e.soap = xmlNewNs(root, x(kSoapNs), x("s"));
  xmlSetNs(root, e.soap);
  e.header = add(root, e.soap, "Header");
  e.body = add(root, e.soap, "Body");
  return e;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != hay.end();
}

// Parses `bytes`, reads a Fault into `fault`, and returns the Body's first element when it is
// named `expected`. `doc` keeps the tree alive.
xmlNode* answer_body(std::string_view bytes, const char* expected, XmlDoc& doc, std::string& error,
                     Fault* fault) {
  auto parsed = parse_xml(bytes, error);
  if (!parsed) return nullptr;
  doc = std::move(*parsed);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (std::string_view(reinterpret_cast<const char*>(root->name)) != "Envelope") {
    error = "not a SOAP envelope";
    return nullptr;
  }
  xmlNode* body = child(root, "Body");
  if (!body) {
    error = "SOAP envelope without a Body";
    return nullptr;
  }
  if (xmlNode* f = child(body, "Fault")) {
    Fault got;
    // SOAP 1.2 (Code/Value, Code/Subcode/Value, Reason/Text) or 1.1 (faultcode, faultstring).
    got.code = text(path(f, {"Code", "Value"}));
    got.subcode = text(path(f, {"Code", "Subcode", "Value"}));
    if (xmlNode* inner = path(f, {"Code", "Subcode", "Subcode", "Value"})) {
      got.subcode += " " + text(inner);
    }
    got.reason = text(path(f, {"Reason", "Text"}));
    if (got.code.empty()) got.code = text(child(f, "faultcode"));
    if (got.reason.empty()) got.reason = text(child(f, "faultstring"));
    error = "SOAP fault " + (got.subcode.empty() ? got.code : got.subcode) +
            (got.reason.empty() ? "" : ": " + got.reason);
    if (fault) *fault = got;
    return nullptr;
  }
  xmlNode* first = body->children;
  while (first && first->type != XML_ELEMENT_NODE) first = first->next;
  if (!first || std::string_view(reinterpret_cast<const char*>(first->name)) != expected) {
    error = std::string("the answer is not a ") + expected;
    return nullptr;
  }
  return first;
}

std::optional<int> to_int(const std::string& s) {
  int v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

std::optional<double> to_double(const std::string& s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The last path segment of a scope under onvif://www.onvif.org/<kind>/.
std::string scope_value(const std::vector<std::string>& scopes, std::string_view kind) {
  const std::string prefix = "onvif://www.onvif.org/" + std::string(kind) + "/";
  for (const auto& s : scopes) {
    if (s.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(),
                                               [](char a, char b) {
                                                 return std::tolower(static_cast<unsigned char>(a)) ==
                                                        std::tolower(static_cast<unsigned char>(b));
                                               })) {
      return printable(std::string_view(s).substr(prefix.size()));
    }
  }
  return {};
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out = vigil::percent_decode(s);
  // Control characters from a camera are not printed to a terminal or a page as they are.
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string build_probe(const std::string& message_id) {
  Envelope e = new_envelope();
  xmlNode* root = xmlDocGetRootElement(e.doc.get());
  xmlNs* a = xmlNewNs(root, x(kAddressingNs), x("a"));
  xmlNs* d = xmlNewNs(root, x(kDiscoveryNs), x("d"));
  xmlNewNs(root, x(kNetworkNs), x("dn"));
  add(e.header, a, "MessageID", message_id);
  add(e.header, a, "To", "urn:schemas-xmlsoap-org:ws:2005:04:discovery");
  add(e.header, a, "Action", "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe");
  xmlNode* probe = add(e.body, d, "Probe");
  add(probe, d, "Types", "dn:NetworkVideoTransmitter");
  return serialize(e.doc.get());
}

std::optional<std::vector<ProbeMatch>> parse_probe_matches(std::string_view bytes,
                                                           const std::string& message_id,
                                                           std::string& error) {
  XmlDoc doc;
  xmlNode* matches = answer_body(bytes, "ProbeMatches", doc, error, nullptr);
  if (!matches) return std::nullopt;
  xmlNode* root = xmlDocGetRootElement(doc.get());
  const std::string relates = text(path(root, {"Header", "RelatesTo"}));
  if (!relates.empty() && relates != message_id) {
    error = "an answer to another probe";
    return std::nullopt;
  }
  std::vector<ProbeMatch> out;
  // A camera announces itself once; a few hundred matches in one datagram is not a camera.
  for (xmlNode* m : children(matches, "ProbeMatch")) {
    if (out.size() >= 64) break;
    ProbeMatch pm;
    pm.endpoint = text(path(m, {"EndpointReference", "Address"}));
    pm.xaddrs = split_list(text(child(m, "XAddrs")));
    pm.scopes = split_list(text(child(m, "Scopes")));
    if (pm.xaddrs.size() > 16) pm.xaddrs.resize(16);
    if (pm.scopes.size() > 64) pm.scopes.resize(64);
    pm.name = scope_value(pm.scopes, "name");
    pm.hardware = scope_value(pm.scopes, "hardware");
    pm.location = scope_value(pm.scopes, "location");
    pm.manufacturer = scope_value(pm.scopes, "manufacturer");
    if (pm.manufacturer.empty()) pm.manufacturer = scope_value(pm.scopes, "mfr");
    std::erase_if(pm.xaddrs, [](const std::string& u) {
      return u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0;
    });
    if (pm.xaddrs.empty()) continue;  // nothing to talk to (e.g. only an IPv6 link-local)
    out.push_back(std::move(pm));
  }
  if (out.empty()) {
    error = "ProbeMatches without a usable match (no http(s) XAddrs)";
    return std::nullopt;
  }
  return out;
}

std::string password_digest(const std::string& nonce, const std::string& created,
                            const std::string& password) {
  const std::string input = nonce + created + password;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha1(), nullptr);
  return base64(std::string_view(reinterpret_cast<const char*>(md), len));
}

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::kGetDeviceInformation: return "GetDeviceInformation";
    case Operation::kGetSystemDateAndTime: return "GetSystemDateAndTime";
    case Operation::kGetCapabilities: return "GetCapabilities";
    case Operation::kGetServices: return "GetServices";
    case Operation::kGetProfiles: return "GetProfiles";
    case Operation::kGetStreamUri: return "GetStreamUri";
    case Operation::kContinuousMove: return "ContinuousMove";
    case Operation::kStop: return "Stop";
    case Operation::kGetPresets: return "GetPresets";
    case Operation::kGotoPreset: return "GotoPreset";
  }
  return "?";
}

std::string build_request(Operation op, const RequestArgs& args, const Credentials& credentials,
                          const UsernameTokenInput& token) {
  Envelope e = new_envelope();
  xmlNode* root = xmlDocGetRootElement(e.doc.get());
  if (!credentials.empty()) {
    xmlNs* wsse = xmlNewNs(root, x(kWsseNs), x("wsse"));
    xmlNs* wsu = xmlNewNs(root, x(kWsuNs), x("wsu"));
    xmlNode* security = add(e.header, wsse, "Security");
    xmlNewNsProp(security, e.soap, x("mustUnderstand"), x("1"));
    xmlNode* ut = add(security, wsse, "UsernameToken");
    add(ut, wsse, "Username", credentials.user);
    xmlNode* pw = add(ut, wsse, "Password",
                      password_digest(token.nonce, token.created, credentials.password));
    xmlNewProp(pw, x("Type"), x(kDigestType));
    xmlNode* nonce = add(ut, wsse, "Nonce", base64(token.nonce));
    xmlNewProp(nonce, x("EncodingType"), x(kBase64Type));
    add(ut, wsu, "Created", token.created);
  }
  const bool device = op == Operation::kGetDeviceInformation ||
                      op == Operation::kGetSystemDateAndTime ||
                      op == Operation::kGetCapabilities || op == Operation::kGetServices;
  const bool ptz = op == Operation::kContinuousMove || op == Operation::kStop ||
                   op == Operation::kGetPresets || op == Operation::kGotoPreset;
  xmlNs* ns = device ? xmlNewNs(root, x(kDeviceNs), x("tds"))
              : ptz  ? xmlNewNs(root, x(kPtzNs), x("tptz"))
                     : xmlNewNs(root, x(kMediaNs), x("trt"));
  xmlNs* tt = xmlNewNs(root, x(kSchemaNs), x("tt"));
  xmlNode* req = add(e.body, ns, operation_name(op));
  switch (op) {
    case Operation::kGetCapabilities:
      add(req, ns, "Category", "All");
      break;
    case Operation::kGetServices:
      add(req, ns, "IncludeCapability", "false");
      break;
    case Operation::kGetStreamUri: {
      xmlNode* setup = add(req, ns, "StreamSetup");
      add(setup, tt, "Stream", "RTP-Unicast");
      add(add(setup, tt, "Transport"), tt, "Protocol", "RTSP");
      add(req, ns, "ProfileToken", args.profile);
      break;
    }
    case Operation::kContinuousMove: {
      add(req, ns, "ProfileToken", args.profile);
      // Velocity is a tt:PTZSpeed: PanTilt and Zoom carry their speeds as attributes.
      xmlNode* velocity = add(req, ns, "Velocity");
      xmlNode* pan_tilt = add(velocity, tt, "PanTilt");
      xmlNewProp(pan_tilt, x("x"), x(xml_double(args.velocity.pan).c_str()));
      xmlNewProp(pan_tilt, x("y"), x(xml_double(args.velocity.tilt).c_str()));
      xmlNode* zoom = add(velocity, tt, "Zoom");
      xmlNewProp(zoom, x("x"), x(xml_double(args.velocity.zoom).c_str()));
      break;
    }
    case Operation::kStop:
      add(req, ns, "ProfileToken", args.profile);
      add(req, ns, "PanTilt", "true");
      add(req, ns, "Zoom", "true");
      break;
    case Operation::kGetPresets:
      add(req, ns, "ProfileToken", args.profile);
      break;
    case Operation::kGotoPreset:
      add(req, ns, "ProfileToken", args.profile);
      add(req, ns, "PresetToken", args.preset);
      break;
    case Operation::kGetDeviceInformation:
    case Operation::kGetSystemDateAndTime:
    case Operation::kGetProfiles:
      break;
  }
  return serialize(e.doc.get());
}

bool Fault::unauthorized() const {
  for (const auto* s : {&code, &subcode}) {
    if (contains_ci(*s, "NotAuthorized") || contains_ci(*s, "FailedAuthentication") ||
        contains_ci(*s, "Unauthorized")) {
      return true;
    }
  }
  return false;
}

std::optional<DeviceInformation> parse_device_information(std::string_view bytes,
                                                          std::string& error, Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetDeviceInformationResponse", doc, error, fault);
  if (!r) return std::nullopt;
  DeviceInformation d;
  d.manufacturer = printable(text(child(r, "Manufacturer")));
  d.model = printable(text(child(r, "Model")));
  d.firmware = printable(text(child(r, "FirmwareVersion")));
  d.serial = printable(text(child(r, "SerialNumber")));
  d.hardware_id = printable(text(child(r, "HardwareId")));
  return d;
}

std::optional<int64_t> parse_system_date_and_time(std::string_view bytes, std::string& error,
                                                  Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetSystemDateAndTimeResponse", doc, error, fault);
  if (!r) return std::nullopt;
  xmlNode* utc = path(r, {"SystemDateAndTime", "UTCDateTime"});
  if (!utc) {
    error = "GetSystemDateAndTime without a UTCDateTime";
    return std::nullopt;
  }
  auto field = [&](std::initializer_list<std::string_view> p) { return to_int(text(path(utc, p))); };
  const auto y = field({"Date", "Year"}), mo = field({"Date", "Month"}), d = field({"Date", "Day"});
  const auto h = field({"Time", "Hour"}), mi = field({"Time", "Minute"}),
             s = field({"Time", "Second"});
  if (!y || !mo || !d || !h || !mi || !s || *y < 1970 || *y > 9999 || *h < 0 || *h > 23 ||
      *mi < 0 || *mi > 59 || *s < 0 || *s > 60) {
    error = "GetSystemDateAndTime with an invalid date or time";
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (*mo < 1 || *d < 1 || !ymd.ok()) {
    error = "GetSystemDateAndTime with an invalid date";
    return std::nullopt;
  }
  const auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ((static_cast<int64_t>(days) * 24 + *h) * 60 + *mi) * 60'000LL + *s * 1000LL;
}

std::optional<Services> parse_capabilities(std::string_view bytes, std::string& error,
                                           Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetCapabilitiesResponse", doc, error, fault);
  if (!r) return std::nullopt;
  xmlNode* caps = child(r, "Capabilities");
  Services s;
  s.device = text(path(caps, {"Device", "XAddr"}));
  s.media = text(path(caps, {"Media", "XAddr"}));
  s.ptz = text(path(caps, {"PTZ", "XAddr"}));
  if (s.media.empty()) {
    error = "GetCapabilities names no media service";
    return std::nullopt;
  }
  return s;
}

std::optional<Services> parse_services(std::string_view bytes, std::string& error, Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetServicesResponse", doc, error, fault);
  if (!r) return std::nullopt;
  Services s;
  for (xmlNode* svc : children(r, "Service")) {
    const std::string ns = text(child(svc, "Namespace"));
    const std::string addr = text(child(svc, "XAddr"));
    if (ns == kDeviceNs) s.device = addr;
    if (ns == kMediaNs) s.media = addr;
    if (ns == kPtzNs) s.ptz = addr;
  }
  if (s.media.empty()) {
    error = "GetServices names no media service (ver10)";
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<VideoProfile>> parse_profiles(std::string_view bytes,
                                                        std::string& error, Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetProfilesResponse", doc, error, fault);
  if (!r) return std::nullopt;
  std::vector<VideoProfile> out;
  for (xmlNode* p : children(r, "Profiles")) {
    if (out.size() >= 32) break;
    VideoProfile v;
    v.token = attribute(p, "token");
    v.name = text(child(p, "Name"));
    xmlNode* enc = child(p, "VideoEncoderConfiguration");
    if (v.token.empty() || !enc) continue;  // audio-only or metadata profiles
    v.encoding = text(child(enc, "Encoding"));
    v.width = to_int(text(path(enc, {"Resolution", "Width"}))).value_or(0);
    v.height = to_int(text(path(enc, {"Resolution", "Height"}))).value_or(0);
    if (v.width < 0 || v.width > 100'000 || v.height < 0 || v.height > 100'000) {
      v.width = v.height = 0;
    }
    v.fps = to_double(text(path(enc, {"RateControl", "FrameRateLimit"})));
    if (v.fps && (*v.fps <= 0 || *v.fps > 1000)) v.fps.reset();
    v.bitrate_kbps = to_int(text(path(enc, {"RateControl", "BitrateLimit"})));
    if (v.bitrate_kbps && *v.bitrate_kbps <= 0) v.bitrate_kbps.reset();
    v.ptz = child(p, "PTZConfiguration") != nullptr;
    out.push_back(std::move(v));
  }
  if (out.empty()) {
    error = "GetProfiles has no video profile";
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> parse_stream_uri(std::string_view bytes, std::string& error,
                                            Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetStreamUriResponse", doc, error, fault);
  if (!r) return std::nullopt;
  std::string uri = text(path(r, {"MediaUri", "Uri"}));
  if (uri.rfind("rtsp://", 0) != 0 && uri.rfind("rtsps://", 0) != 0) {
    error = "GetStreamUri did not give an rtsp:// URL";
    return std::nullopt;
  }
  if (uri.find_first_of(" \t\r\n\"<>") != std::string::npos) {
    error = "GetStreamUri gave a URL with spaces or quotes";
    return std::nullopt;
  }
  return uri;
}

std::optional<std::vector<PtzPreset>> parse_presets(std::string_view bytes, std::string& error,
                                                    Fault* fault) {
  XmlDoc doc;
  xmlNode* r = answer_body(bytes, "GetPresetsResponse", doc, error, fault);
  if (!r) return std::nullopt;
  std::vector<PtzPreset> out;
  for (xmlNode* p : children(r, "Preset")) {
    // ONVIF allows up to a few hundred presets; more is not a camera's list.
    if (out.size() >= 256) break;
    PtzPreset preset;
    preset.token = printable(attribute(p, "token"));
    preset.name = printable(text(child(p, "Name")));
    if (preset.token.empty()) continue;  // cannot be gone to
    out.push_back(std::move(preset));
  }
  return out;
}

bool parse_empty_response(std::string_view bytes, Operation op, std::string& error, Fault* fault) {
  XmlDoc doc;
  const std::string expected = std::string(operation_name(op)) + "Response";
  return answer_body(bytes, expected.c_str(), doc, error, fault) != nullptr;
}

std::string xml_datetime(int64_t unix_ms) {
  const auto tp = std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms));
  const auto days = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(tp - days));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace vigil::onvif
