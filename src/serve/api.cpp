#include "serve/api.h"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/text.h"

#include "serve/api_request.h"
#include "serve/authorize.h"
#include "serve/camera_probe.h"
#include "serve/crypto.h"
#include "serve/totp.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

void check_password(const std::string& pw) {
  if (const std::string p = password_problem(pw); !p.empty()) {
    throw Error(ErrorCode::kInvalidArgument, p);
  }
}

Role need_role(const std::string& s) {
  auto r = parse_role(s);
  if (!r) {
    throw Error(ErrorCode::kInvalidArgument,
                "role \"" + s + "\": must be \"admin\", \"operator\" or \"viewer\"");
  }
  return *r;
}

// "cameras": a list of camera ids, or ["*"] for every camera (also those added later); [] is
// none. There is no implicit "all": null, once every camera, is refused rather than guessed.
std::vector<std::string> parse_cameras(const json& v) {
  if (!v.is_array()) {
    throw Error(ErrorCode::kInvalidArgument,
                "\"cameras\" must be a list of camera ids, or [\"*\"] for every camera");
  }
  std::vector<std::string> out;
  for (const auto& c : v) {
    const bool all = c.is_string() && c.get<std::string>() == kAllCameras;
    if (!c.is_string() || (!all && !valid_param(ParamType::kCamera, c.get<std::string>()))) {
      throw Error(ErrorCode::kInvalidArgument,
                  "\"cameras\" holds something that is not a camera id");
    }
    out.push_back(c.get<std::string>());
  }
  if (out.size() > 1 && std::find(out.begin(), out.end(), kAllCameras) != out.end()) {
    throw Error(ErrorCode::kInvalidArgument, "\"cameras\": \"*\" (every camera) stands alone");
  }
  return out;
}

json user_json(const User& u) {
  return {{"name", u.name},
          {"role", role_name(u.role)},
          {"cameras", u.sees_all_cameras() ? json::array({kAllCameras}) : json(u.cameras)},
          {"created", format_iso8601(u.created)}};
}

std::string cameras_text(const User& u) {
  if (u.sees_all_cameras()) return "all";
  std::string s;
  for (const auto& x : u.cameras) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "none" : s;
}

// The account throttle's key for a login name. Names that no account can have share one key,
// so that a flood of long made-up names costs the throttle one entry, not one per name.
std::string account_key(const std::string& name) {
  if (!valid_user_name(name)) return "(invalid name)";
  std::string s = name;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char kIndexPage[] = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vigil</title></head>
<body><h1>vigil</h1>
<p>The web interface is not built yet (<code>scripts/build</code>, or <code>npm install &amp;&amp;
npm run build</code> in <code>web/</code>; or set <code>[http] web_root</code>). The API is described at
<code>/api/openapi.json</code>; log in with <code>POST /api/login</code>.</p>
</body></html>
)html";

// The names this machine answers to without configuration: the bind address, localhost and the
// loopback addresses, its host name (short and as the resolver completes it), and, when bound to
// every interface, the addresses of its interfaces.
std::set<std::string> default_hosts(const HttpSettings& http) {
  std::set<std::string> out = {"localhost", "127.0.0.1", "::1", http.address};
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && name[0]) {
    std::string n = name;
    out.insert(n);
    out.insert(n.substr(0, n.find('.')));
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (::getaddrinfo(name, nullptr, &hints, &res) == 0) {
      if (res && res->ai_canonname) out.insert(res->ai_canonname);
      ::freeaddrinfo(res);
    }
  }
  if (http.address == "0.0.0.0" || http.address == "::") {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
      for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
          inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                    sizeof buf);
        }
        if (buf[0]) out.insert(buf);
      }
      ::freeifaddrs(list);
    }
  }
  std::set<std::string> lower;
  for (std::string s : out) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lower.insert(s);
  }
  return lower;
}

// The host of a Host header ("name:port", "[v6]:port", "name"), lower case, without a final dot.
std::string host_of(std::string h) {
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    h = close == std::string::npos ? h : h.substr(1, close - 1);
  } else if (const size_t colon = h.rfind(':'); colon != std::string::npos &&
                                                h.find(':') == colon) {
    h.erase(colon);
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h;
}

}  // namespace

Api::Api(ConfigStore& configs, AccountStore& accounts, const Clock& clock, StatusFn status,
         ComponentRegistry* components)
    : configs_(configs),
      accounts_(accounts),
      clock_(clock),
      status_(std::move(status)),
      auth_(accounts, clock, configs.current()->http.session_lifetime),
      // One address may mistype more than one account (a shared office NAT), so it gets more
      // free failures than an account does.
      address_throttle_(clock,
                        ThrottlePolicy{20, std::chrono::seconds(1), std::chrono::seconds(15 * 60),
                                       std::chrono::seconds(60 * 60), 10'000}),
      // The account-wide count bounds guesses at one account from many addresses, but it only
      // ever locks addresses that failed for that account: the real user, from an address that
      // has not failed, still gets in while an attacker elsewhere is locked out.
      account_throttle_(clock,
                        ThrottlePolicy{10, std::chrono::seconds(1), std::chrono::seconds(15 * 60),
                                       std::chrono::seconds(60 * 60), 10'000}),
      account_address_throttle_(
          clock, ThrottlePolicy{5, std::chrono::seconds(1), std::chrono::seconds(15 * 60),
                                std::chrono::seconds(60 * 60), 10'000}),
      dummy_hash_(hash_password(random_secret(16))),
      playback_(configs, accounts, clock, components),
      events_api_(configs, clock, playback_),
      settings_api_(configs, accounts, clock, status_),
      holds_api_(configs, accounts, clock, playback_),
      discover_api_(accounts, clock),
      ptz_api_(configs, accounts, clock),
      transactions_api_(configs, accounts, auth_, clock, playback_),
      web_(configs.current()->http.web_root) {
  if (accounts_.user_count() == 0) setup_token_ = random_secret(24);
  const HttpSettings& http = configs.current()->http;
  if (std::find(http.allowed_hosts.begin(), http.allowed_hosts.end(), "*") ==
      http.allowed_hosts.end()) {
    allowed_hosts_ = default_hosts(http);
    for (const auto& h : http.allowed_hosts) allowed_hosts_.insert(host_of(h));
  }
  // A test connection gives up after this long; the sources' own I/O timeout is kept below it
  // so that a silent camera is reported as such, not as a generic time-out.
  constexpr std::chrono::milliseconds kProbeLimit{10'000};
  IngestSettings probe_ingest = configs.current()->ingest;
  probe_ingest.io_timeout = std::min(probe_ingest.io_timeout, std::chrono::milliseconds(5'000));
  probe_ingest.read_batch = std::chrono::milliseconds(0);  // a probe wants its frames at once
  prober_ = std::make_unique<CameraProber>(clock_, rtsp_source_factory(clock_, probe_ingest),
                                           kProbeLimit, 4, components);
  add_routes();
}

Api::~Api() = default;

void Api::stop_probes() { prober_->stop(); }

std::optional<std::string> Api::setup_token() {
  std::lock_guard lock(setup_mu_);
  return setup_token_;
}

void Api::add_routes() {
  auto add = [this](std::string method, std::string pattern, Access access,
                    Response (Api::*fn)(Call&), bool slow = false) {
    add_route(router_, this, std::move(method), std::move(pattern), std::move(access), fn, slow);
  };
  const Access anyone{false, Role::kViewer, ""};
  const Access viewer{true, Role::kViewer, ""};
  const Access admin{true, Role::kAdmin, ""};
  // What an admin who must still enrol a second factor may do ([http] require_2fa_for_admins).
  const Access enrolling{true, Role::kViewer, "", false, true};
  add("GET", "/", anyone, &Api::index_page);
  // Routes that hash or check a password (Argon2, ~0.1 s of CPU each) are slow.
  add("POST", "/api/setup", anyone, &Api::setup, true);
  add("POST", "/api/login", anyone, &Api::login, true);
  add("POST", "/api/logout", enrolling, &Api::logout);
  add("GET", "/api/me", enrolling, &Api::me);
  add("POST", "/api/me/totp", enrolling, &Api::begin_totp, true);
  add("POST", "/api/me/totp/confirm", enrolling, &Api::confirm_totp);
  add("POST", "/api/me/totp/disable", viewer, &Api::disable_totp, true);
  add("POST", "/api/me/password", viewer, &Api::change_own_password, true);
  add("GET", "/api/users", admin, &Api::list_users);
  add("POST", "/api/users", admin, &Api::add_user, true);
  add("PATCH", "/api/users/{name:user}", admin, &Api::change_user, true);
  add("DELETE", "/api/users/{name:user}", admin, &Api::delete_user);
  add("GET", "/api/tokens", viewer, &Api::list_tokens);
  add("POST", "/api/tokens", viewer, &Api::create_token, true);
  add("DELETE", "/api/tokens/{id:int}", viewer, &Api::revoke_token);
  add("GET", "/api/cameras", viewer, &Api::list_cameras);
  add("POST", "/api/cameras", admin, &Api::add_camera);
  add("GET", "/api/cameras/{id:camera}", Access{true, Role::kViewer, "id"}, &Api::camera);
  add("PATCH", "/api/cameras/{id:camera}", Access{true, Role::kAdmin, "id"}, &Api::change_camera);
  add("DELETE", "/api/cameras/{id:camera}", Access{true, Role::kAdmin, "id"}, &Api::remove_camera);
  add("PATCH", "/api/tills/{id:camera}", admin, &Api::change_till);
  // Not slow although it takes seconds: it runs on threads of its own (camera_probe.h).
  add("POST", "/api/cameras/probe", admin, &Api::probe_camera);
  add("GET", "/api/audit", admin, &Api::read_audit);
  add("GET", "/api/openapi.json", viewer, &Api::openapi);
  playback_.add_routes(router_);
  events_api_.add_routes(router_);
  settings_api_.add_routes(router_);
  holds_api_.add_routes(router_);
  discover_api_.add_routes(router_);
  ptz_api_.add_routes(router_);
  transactions_api_.add_routes(router_);
  add("GET", "/api/cameras/{id:camera}/live.mp4", Access{true, Role::kViewer, "id"}, &Api::live);
  add("GET", "/api/cameras/{id:camera}/snapshot.jpg", Access{true, Role::kViewer, "id"},
      &Api::snapshot);
  add("GET", "/metrics", Access{true, Role::kAdmin, "", true}, &Api::metrics);
}

http::RequestClass Api::classify(const std::string& method, std::string_view path) const {
  const Match m = router_.match(method == "HEAD" ? "GET" : method, path);
  if (!m.route) return {};
  return {m.route->body_limit, m.route->slow};
}

Response Api::handle(const http::Request& req) {
  Response res = answer(req);
  // Once a browser has talked HTTPS to vigil, it must never fall back to plain HTTP, where the
  // session cookie could be read or the page changed on the way.
  if (req.tls) res.with_header("Strict-Transport-Security", "max-age=31536000");
  return res;
}

Response Api::route(const http::Request& req) {
  // HEAD is the GET of the same route without its body (RFC 9110 §9.3.2); the server
  // leaves the body out and keeps its Content-Length.
  Match m = router_.match(req.method == "HEAD" ? "GET" : req.method, req.path());
  switch (m.kind) {
    case Match::Kind::kNotFound:
      throw HttpFail{404, "no such route"};
    case Match::Kind::kMethodNotAllowed:
      throw HttpFail{405, req.method + " is not allowed here", {{"Allow", m.allow}}};
    case Match::Kind::kBadRequest:
      throw HttpFail{400, m.detail};
    case Match::Kind::kFound:
      break;
  }
  auto query = http::parse_query(req.query());
  if (!query) throw HttpFail{400, "malformed query string"};
  std::optional<Principal> principal;
  if (m.route->access.authenticated) principal = auth_.from_request(req);
  if (principal && principal->user.role == Role::kAdmin &&
      configs_.current()->http.require_2fa_for_admins) {
    const auto t = accounts_.totp(principal->user.id);
    principal->must_enrol_second_factor = !t || !t->confirmed;
  }
  const Decision d = authorize(
      m.route->access, principal ? &*principal : nullptr, req.method, req.header("x-csrf-token"),
      m.params, [config = configs_.current()](const std::string& id) {
        return config->find_camera(id) != nullptr;
      });
  if (!d.allowed()) {
    HttpFail f{d.status, d.detail};
    if (d.status == 401) f.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil\"");
    throw f;
  }
  Call call{req, std::move(m.params), std::move(*query), principal ? &*principal : nullptr};
  return m.route->handler(call);
}

Response Api::answer(const http::Request& req) {
  // A page on another site can make the browser send requests to vigil under the site's own
  // name (DNS rebinding): the Host it names is the site's, which is not one of vigil's. (A
  // request without Host is no browser's: HTTP/1.0 scripts may still omit it.)
  const std::string host = req.header("host");
  if (!allowed_hosts_.empty() && !host.empty() && !allowed_hosts_.count(host_of(host))) {
    return Response::error(421, "this server does not answer to the host name \"" +
                                    clean_text(req.header("host"), 100) +
                                    "\" (add it to [http] allowed_hosts)");
  }
  if (auto page = web_.handle(req)) return std::move(*page);
  Response res;
  try {
    try {
      res = route(req);
    } catch (const Error& e) {
      // The disk is full (held footage, or a recorder filled it before retention could act):
      // the catalog write this request needed failed. Retention's space reserve exists for
      // this; freed, the request runs once more, so that an admin can still log in and release
      // a hold, the documented way out (docs/design/storage.md, "Holds").
      if (e.code() != ErrorCode::kResourceExhausted || !disk_relief_ || !disk_relief_()) throw;
      spdlog::warn("http: {} {}: {}; released the disk's space reserve and trying once more",
                   req.method, std::string(req.path()), e.what());
      res = route(req);
    }
  } catch (const HttpFail& f) {
    res = Response::error(f.status, f.detail);
    for (const auto& h : f.headers) res.with_header(h.first, h.second);
  } catch (const Error& e) {
    const int status = http::status_for(e.code());
    if (status >= 500) {
      spdlog::error("http: {} {}: {}", req.method, std::string(req.path()), e.what());
      res = Response::error(status, "the server failed; its log says why");
    } else {
      res = Response::error(status, e.what());
    }
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: unexpected: {}", req.method, std::string(req.path()), e.what());
    res = Response::error(500, "the server failed; its log says why");
  }
  // Nothing the API answers may be cached, sniffed into another type, or framed.
  res.with_header("Cache-Control", "no-store")
      .with_header("X-Content-Type-Options", "nosniff")
      .with_header("X-Frame-Options", "DENY")
      .with_header("Referrer-Policy", "no-referrer");
  return res;
}

void Api::audit(const Call& call, const std::string& action, const std::string& detail,
                const std::optional<std::string>& user_name,
                const std::optional<std::string>& camera) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = user_name        ? user_name
                : call.principal ? std::optional<std::string>(call.principal->user.name)
                                 : std::nullopt;
  e.address = call.request.remote_address;
  e.action = action;
  e.camera_id = camera;
  e.detail = detail;
  accounts_.append_audit(e);
}

std::optional<std::chrono::seconds> Api::login_wait(const std::string& address,
                                                    const std::string& name) {
  const std::string pair = account_key(name) + "|" + address;
  std::optional<std::chrono::seconds> wait;
  for (auto w : {address_throttle_.wait_time(address), account_address_throttle_.wait_time(pair),
                 // The account's lock, only for an address that has failed for the account.
                 account_address_throttle_.has_failures(pair)
                     ? account_throttle_.wait_time(account_key(name))
                     : std::nullopt}) {
    if (w && (!wait || *w > *wait)) wait = w;
  }
  return wait;
}

void Api::record_login_failure(const std::string& address, const std::string& name) {
  address_throttle_.record_failure(address);
  account_address_throttle_.record_failure(account_key(name) + "|" + address);
  account_throttle_.record_failure(account_key(name));
}

void Api::verify_own_password(const Call& call, const std::string& password) {
  const User& u = call.principal->user;
  if (auto wait = login_wait(call.request.remote_address, u.name)) {
    throw HttpFail{429,
                   "too many failed attempts; try again later",
                   {{"Retry-After", std::to_string(wait->count())}}};
  }
  if (!verify_password(u.password_hash, password)) {
    record_login_failure(call.request.remote_address, u.name);
    throw HttpFail{403, "the current password is wrong"};
  }
}

bool Api::check_second_factor(const Call& call, const User& user, const std::string& code) {
  const auto t = accounts_.totp(user.id);
  if (!t || !t->confirmed) return false;
  const int64_t now_s = ms_since_epoch(clock_.wall_now()) / 1000;
  if (auto step = totp_match(t->secret, code, now_s, t->last_step)) {
    // The store takes the step only if no other request took it (or a later one) meanwhile:
    // two parallel logins with one code get in once.
    return accounts_.use_totp_step(user.id, *step);
  }
  const std::string recovery = normalize_recovery_code(code);
  if (recovery.empty() || !accounts_.use_recovery_code(user.id, sha256(recovery))) return false;
  audit(call, "recovery_code_used",
        std::to_string(accounts_.recovery_codes_left(user.id)) + " recovery codes left",
        user.name);
  return true;
}

Response Api::start_session_response(const Call& call, const User& user, int status) {
  const auto s = auth_.start_session(user, call.request.remote_address);
  json body = user_json(user);
  body["csrf_token"] = s.csrf_token;
  body["expires"] = format_iso8601(s.expires);
  Response r = Response::json(status, body);
  r.with_header("Set-Cookie", auth_.session_cookie(s.id, call.request.tls));
  return r;
}

Response Api::index_page(Call&) {
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = kIndexPage;
  r.with_header("Content-Security-Policy", "default-src 'none'");
  return r;
}

Response Api::setup(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"token", "name", "password"});
  const std::string token = need_string(body, "token");
  const std::string& address = call.request.remote_address;
  if (auto wait = address_throttle_.wait_time(address)) {
    throw HttpFail{429,
                   "too many failed attempts; try again later",
                   {{"Retry-After", std::to_string(wait->count())}}};
  }
  std::unique_lock lock(setup_mu_);
  if (!setup_token_) throw HttpFail{409, "setup is done: log in instead"};
  if (!constant_time_equal(token, *setup_token_)) {
    lock.unlock();
    address_throttle_.record_failure(address);
    throw HttpFail{403, "wrong setup token (vigil's log shows it)"};
  }
  User u;
  u.name = need_string(body, "name");
  if (!valid_user_name(u.name)) throw Error(ErrorCode::kInvalidArgument, "invalid user name");
  const std::string pw = need_string(body, "password");
  check_password(pw);
  u.password_hash = hash_password(pw);
  u.role = Role::kAdmin;
  u.created = clock_.wall_now();
  if (!accounts_.add_first_user(u)) {
    setup_token_.reset();
    lock.unlock();
    if (on_setup_done_) on_setup_done_();
    throw HttpFail{409, "a user exists already: log in instead"};
  }
  setup_token_.reset();
  lock.unlock();
  if (on_setup_done_) on_setup_done_();
  auto created = accounts_.user_by_name(u.name);
  if (!created) throw Error(ErrorCode::kInternal, "setup: the new user vanished");
  audit(call, "setup", "first admin created", created->name);
  spdlog::info("setup: first admin \"{}\" created from {}", created->name, address);
  return start_session_response(call, *created, 201);
}

Response Api::login(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"name", "password", "code"});
  const std::string name = need_string(body, "name");
  const std::string pw = need_string(body, "password");
  const std::string& address = call.request.remote_address;
  if (auto wait = login_wait(address, name)) {
    throw HttpFail{429,
                   "too many failed logins; try again later",
                   {{"Retry-After", std::to_string(wait->count())}}};
  }
  std::optional<User> user;
  if (valid_user_name(name)) user = accounts_.user_by_name(name);
  const bool ok =
      user ? verify_password(user->password_hash, pw) : (verify_password(dummy_hash_, pw), false);
  if (!ok) {
    record_login_failure(address, name);
    audit(call, "login_failed", user ? "wrong password" : "unknown user",
          valid_user_name(name) ? std::optional<std::string>(name) : std::nullopt);
    throw HttpFail{401, "wrong user name or password"};
  }
  if (const auto t = accounts_.totp(user->id); t && t->confirmed) {
    // The password was right: the client is told a code is needed (and asks the user for it),
    // which is what every second factor reveals. A wrong code counts as a failed login.
    const auto code = opt_string(body, "code");
    if (!code) {
      return Response::json(401, {{"error", "code_required"},
                                  {"detail", "enter the code from your authenticator app, or "
                                             "one of your recovery codes"}});
    }
    if (!check_second_factor(call, *user, *code)) {
      record_login_failure(address, name);
      audit(call, "login_failed", "wrong second-factor code", user->name);
      return Response::json(401, {{"error", "wrong_code"},
                                  {"detail", "wrong or already used code"}});
    }
  }
  account_throttle_.record_success(account_key(name));
  account_address_throttle_.record_success(account_key(name) + "|" + address);
  audit(call, "login", "", user->name);
  return start_session_response(call, *user, 200);
}

Response Api::logout(Call& call) {
  auth_.end_session(*call.principal);
  audit(call, "logout", "");
  Response r = Response::no_content();
  r.with_header("Set-Cookie", auth_.session_cookie("", call.request.tls));
  return r;
}

Response Api::me(Call& call) {
  const Principal& p = *call.principal;
  json j = user_json(p.user);
  j["via"] = p.via == Principal::Via::kSession ? "session" : "token";
  if (p.via == Principal::Via::kSession) j["csrf_token"] = p.csrf_token;
  const auto t = accounts_.totp(p.user.id);
  j["totp"] = t && t->confirmed;
  if (t && t->confirmed) j["recovery_codes_left"] = accounts_.recovery_codes_left(p.user.id);
  j["must_enrol_totp"] = p.must_enrol_second_factor;
  return Response::json(200, j);
}

Response Api::begin_totp(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"password"});
  // The password again: a stolen cookie must not be able to tie the account to the thief's
  // phone (and so lock its owner out of it).
  verify_own_password(call, need_string(body, "password"));
  const User& u = call.principal->user;
  const auto secret = random_bytes(kTotpSecretBytes);
  if (!accounts_.begin_totp(u.id, secret, clock_.wall_now())) {
    throw HttpFail{409, "a second factor is enrolled already: disable it first"};
  }
  return Response::json(200, {{"secret", base32_encode(secret)},
                              {"uri", otpauth_uri("vigil", u.name, secret)}});
}

Response Api::confirm_totp(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"code"});
  const std::string code = need_string(body, "code");
  const User& u = call.principal->user;
  const std::string& address = call.request.remote_address;
  // A code is worth as much as a password here: the same throttle.
  if (auto wait = login_wait(address, u.name)) {
    throw HttpFail{429,
                   "too many failed attempts; try again later",
                   {{"Retry-After", std::to_string(wait->count())}}};
  }
  const auto t = accounts_.totp(u.id);
  if (!t || t->confirmed) throw HttpFail{409, "no enrolment under way: start one first"};
  const auto step = totp_match(t->secret, code, ms_since_epoch(clock_.wall_now()) / 1000,
                               std::nullopt);
  if (!step) {
    record_login_failure(address, u.name);
    throw HttpFail{403, "wrong code: check the phone's clock, and type the code it shows now"};
  }
  const auto codes = new_recovery_codes(10);
  std::vector<std::vector<uint8_t>> hashes;
  for (const auto& c : codes) hashes.push_back(sha256(normalize_recovery_code(c)));
  if (!accounts_.confirm_totp(u.id, *step, hashes)) {
    throw HttpFail{409, "no enrolment under way: start one first"};
  }
  audit(call, "totp_enrol", "second factor enrolled, 10 recovery codes made");
  // Shown once: the catalog keeps only their hashes.
  return Response::json(200, {{"recovery_codes", codes}});
}

Response Api::disable_totp(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"password"});
  verify_own_password(call, need_string(body, "password"));
  const User& u = call.principal->user;
  const auto t = accounts_.totp(u.id);
  if (!t) throw HttpFail{409, "no second factor is enrolled"};
  accounts_.delete_totp(u.id);
  audit(call, "totp_disable", t->confirmed ? "second factor removed" : "enrolment abandoned");
  return Response::no_content();
}

Response Api::change_own_password(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"current_password", "new_password"});
  const std::string current = need_string(body, "current_password");
  const std::string next = need_string(body, "new_password");
  check_password(next);
  verify_own_password(call, current);
  User u = call.principal->user;
  u.password_hash = hash_password(next);
  accounts_.update_user(u);
  // A new password signs out every other session (a stolen cookie dies with the old password).
  accounts_.delete_sessions_of(u.id);
  audit(call, "password_change", "own password");
  return start_session_response(call, u, 200);
}

Response Api::list_users(Call&) {
  json list = json::array();
  for (const auto& u : accounts_.users()) {
    json j = user_json(u);
    // Admins only (this route): whether the account has a second factor, so that an admin can
    // see who still logs in with a password alone. Never the secret or its codes.
    const auto t = accounts_.totp(u.id);
    j["totp"] = t && t->confirmed;
    list.push_back(std::move(j));
  }
  return Response::json(200, {{"users", list}});
}

Response Api::add_user(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"name", "password", "role", "cameras"});
  User u;
  u.name = need_string(body, "name");
  const std::string pw = need_string(body, "password");
  check_password(pw);
  u.role = need_role(need_string(body, "role"));
  if (body.contains("cameras")) u.cameras = parse_cameras(body["cameras"]);
  u.created = clock_.wall_now();
  if (!valid_user_name(u.name)) {
    throw Error(ErrorCode::kInvalidArgument,
                "user name: use 1-64 characters of A-Z, a-z, 0-9, '.', '_', '@' or '-'");
  }
  u.password_hash = hash_password(pw);
  accounts_.add_user(u);
  auto created = accounts_.user_by_name(u.name);
  if (!created) throw Error(ErrorCode::kInternal, "add user: the new user vanished");
  audit(call, "user_add",
        "user " + u.name + " role=" + role_name(u.role) +
            " cameras=" + cameras_text(*created));
  return Response::json(201, user_json(*created));
}

Response Api::change_user(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"role", "cameras", "password", "totp"});
  // "totp": false removes the user's second factor (a lost phone and lost recovery codes); only
  // the user can enrol one, with their password.
  if (body.contains("totp") && body["totp"] != false) {
    throw Error(ErrorCode::kInvalidArgument,
                "\"totp\": only false (remove); users enrol on their account page");
  }
  auto u = accounts_.user_by_name(call.params["name"]);
  if (!u) throw HttpFail{404, "no user " + call.params["name"]};
  std::string what;
  bool demoted = false;
  if (auto role = opt_string(body, "role")) {
    const Role r = need_role(*role);
    if (u->role == Role::kAdmin && r != Role::kAdmin && accounts_.admin_count() <= 1) {
      throw HttpFail{409, "that is the last admin"};
    }
    // An admin sees every camera by role; once demoted, they see what they are given, and that
    // must be said rather than inherited.
    if (u->role == Role::kAdmin && r != Role::kAdmin && !body.contains("cameras")) {
      throw Error(ErrorCode::kInvalidArgument,
                  "demoting an admin: give \"cameras\" too (a list, or [\"*\"] for every camera)");
    }
    demoted = r < u->role;
    u->role = r;
    what += std::string(" role=") + role_name(r);
  }
  if (body.contains("cameras")) {
    u->cameras = parse_cameras(body["cameras"]);
    what += " cameras=" + cameras_text(*u);
  }
  const auto pw = opt_string(body, "password");
  if (pw) {
    check_password(*pw);
    u->password_hash = hash_password(*pw);
    what += " password";
  }
  accounts_.update_user(*u);
  if (body.contains("totp")) {
    accounts_.delete_totp(u->id);
    what += " second factor removed";
  }
  // A password reset or a demotion ends what the old state allowed: every session and every API
  // token of the user (whoever held them must log in again, with the new rights).
  if (pw || demoted) {
    accounts_.delete_sessions_of(u->id);
    accounts_.delete_tokens_of(u->id);
    what += " (sessions and tokens revoked)";
  }
  audit(call, "user_change", "user " + u->name + ":" + (what.empty() ? " nothing" : what));
  return Response::json(200, user_json(*accounts_.user(u->id)));
}

Response Api::delete_user(Call& call) {
  auto u = accounts_.user_by_name(call.params["name"]);
  if (!u) throw HttpFail{404, "no user " + call.params["name"]};
  if (u->role == Role::kAdmin && accounts_.admin_count() <= 1) {
    throw HttpFail{409, "that is the last admin"};
  }
  accounts_.delete_user(u->id);
  audit(call, "user_delete", "user " + u->name);
  return Response::no_content();
}

Response Api::list_tokens(Call& call) {
  const Principal& p = *call.principal;
  const bool all = p.user.role == Role::kAdmin;
  json list = json::array();
  for (const auto& t : all ? accounts_.all_tokens() : accounts_.tokens_of(p.user.id)) {
    auto owner = accounts_.user(t.user_id);
    list.push_back(
        {{"id", t.id},
         {"name", t.name},
         {"user", owner ? owner->name : ""},
         {"scope", token_scope_name(t.scope)},
         {"tills", t.tills},
         {"created", format_iso8601(t.created)},
         {"expires", t.expires ? json(format_iso8601(*t.expires)) : json(nullptr)},
         {"last_used", t.last_used ? json(format_iso8601(*t.last_used)) : json(nullptr)}});
  }
  return Response::json(200, {{"tokens", list}});
}

Response Api::create_token(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"name", "password", "scope", "expires_days", "tills"});
  const std::string name = need_string(body, "name");
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    throw Error(ErrorCode::kInvalidArgument, "token name: 1-64 printable ASCII characters");
  }
  const std::string scope_text = opt_string(body, "scope").value_or("full");
  const auto parsed_scope = parse_token_scope(scope_text);
  if (!parsed_scope) {
    throw Error(ErrorCode::kInvalidArgument, "scope: must be \"full\", \"metrics\" or \"till\"");
  }
  const TokenScope scope = *parsed_scope;
  // /metrics covers every camera: only someone who sees them all may hand out a way to read it.
  // A till's transactions land on the footage of its cameras, which an admin configured.
  if (scope != TokenScope::kFull && call.principal->user.role != Role::kAdmin) {
    throw HttpFail{403, std::string("a ") + scope_text + " token needs the admin role"};
  }
  std::vector<std::string> tills;
  if (scope == TokenScope::kTill) {
    const json& list = body.contains("tills") ? body["tills"] : json();
    if (!list.is_array() || list.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "tills: a till token needs a list of till ids");
    }
    const auto config = configs_.current();
    for (const json& id : list) {
      if (!id.is_string() || !config->find_till(id.get<std::string>())) {
        throw Error(ErrorCode::kInvalidArgument,
                    "tills: " + id.dump() + " is no configured [[till]]");
      }
      tills.push_back(id.get<std::string>());
    }
  } else if (body.contains("tills")) {
    throw Error(ErrorCode::kInvalidArgument, "tills: only for scope \"till\"");
  }
  std::optional<std::chrono::days> lifetime;
  if (body.contains("expires_days") && !body["expires_days"].is_null()) {
    const json& d = body["expires_days"];
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > 3650) {
      throw Error(ErrorCode::kInvalidArgument, "expires_days: a whole number from 1 to 3650");
    }
    lifetime = std::chrono::days(d.get<int64_t>());
  }
  // A token outlives the session that made it: whoever stole a cookie must not turn it into a
  // lasting credential without the password.
  verify_own_password(call, need_string(body, "password"));
  const auto t = auth_.create_token(call.principal->user, name, scope, lifetime, tills);
  std::string till_list;
  for (const auto& id : tills) till_list += (till_list.empty() ? " tills=" : ",") + id;
  audit(call, "token_create",
        "token " + std::to_string(t.id) + " \"" + name + "\" scope=" + scope_text + till_list +
            (t.expires ? " expires=" + format_iso8601(*t.expires) : std::string()));
  return Response::json(201, {{"id", t.id},
                              {"name", name},
                              {"scope", scope_text},
                              {"tills", tills},
                              {"expires", t.expires ? json(format_iso8601(*t.expires)) : json(nullptr)},
                              {"token", t.token}});
}

Response Api::revoke_token(Call& call) {
  const int64_t id = std::stoll(call.params["id"]);
  auto t = accounts_.token(id);
  const Principal& p = *call.principal;
  // Someone else's token is "not found", not "forbidden": its existence is not their business.
  if (!t || (t->user_id != p.user.id && p.user.role != Role::kAdmin)) {
    throw HttpFail{404, "no token " + call.params["id"]};
  }
  accounts_.delete_token(id);
  audit(call, "token_revoke", "token " + std::to_string(id) + " \"" + t->name + "\"");
  return Response::no_content();
}

Response Api::read_audit(Call& call) {
  only_query(call, {"user", "action", "camera", "from_ms", "to_ms", "before_id", "limit"});
  AuditFilter f;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = call.query.find(key);
    if (it == call.query.end()) return std::nullopt;
    return it->second;
  };
  f.user_name = text("user");
  f.action = text("action");
  f.camera_id = text("camera");
  constexpr int64_t kMax = int64_t{1} << 52;
  if (call.query.count("from_ms")) f.from = wall_from_ms(query_int(call, "from_ms", 0, kMax, 0));
  if (call.query.count("to_ms")) f.to = wall_from_ms(query_int(call, "to_ms", 0, kMax, 0));
  if (call.query.count("before_id")) f.before_id = query_int(call, "before_id", 1, kMax, 0);
  f.limit = static_cast<int>(query_int(call, "limit", 1, 1000, 100));
  json list = json::array();
  const auto rows = accounts_.audit(f);
  for (const auto& e : rows) {
    auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
    auto time = [](const std::optional<WallTime>& t) {
      return t ? json(format_iso8601(*t)) : json(nullptr);
    };
    list.push_back({{"id", e.id},
                    {"at", format_iso8601(e.at)},
                    {"at_ms", ms_since_epoch(e.at)},
                    {"user", opt(e.user_name)},
                    {"address", e.address},
                    {"action", e.action},
                    {"camera", opt(e.camera_id)},
                    {"range_start", time(e.range_start)},
                    {"range_end", time(e.range_end)},
                    {"detail", e.detail}});
  }
  // A full page may have more behind it; the client asks again with before_id.
  const json next = static_cast<int>(rows.size()) == f.limit ? json(rows.back().id) : json(nullptr);
  return Response::json(200, {{"entries", list}, {"next_before_id", next}});
}

Response Api::openapi(Call&) {
  Response r;
  r.body = openapi_document();
  return r;
}

}  // namespace vigil
