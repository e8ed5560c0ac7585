// The API end to end without sockets: Api::handle on real accounts in a real catalog, with a fake
// clock. The socket-level behaviour (limits, timeouts, a real process) is in
// tests/integration/test_serve.py.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "catalog/catalog.h"
#include "serve/api.h"
#include "serve/crypto.h"
#include "serve/totp.h"
#include "test_support.h"

namespace vigil {
namespace {

using nlohmann::json;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : config_(test::write_two_camera_config(dir_.path())),
        catalog_(dir_.path() / "vigil.db"),
        accounts_(dir_.path() / "vigil.db"),
        clock_(kT0),
        api_(config_, accounts_, clock_, [] {
          return json{
              {"cameras",
               json::array({{{"id", "front"}, {"state", "recording"}, {"url", "rtsp://secret"}}})}};
        }) {}

  http::Response call(const std::string& method, const std::string& target,
                      const std::string& body = "",
                      std::map<std::string, std::string> headers = {}) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.remote_address = address_;
    if (!body.empty() && !headers.count("content-type"))
      headers["content-type"] = "application/json";
    r.headers = std::move(headers);
    return api_for_calls_->handle(r);
  }

  std::string address_ = "192.0.2.9";  // the client's address for call()

  void add_user(const std::string& name, Role role, std::vector<std::string> cams = {"*"}) {
    User u;
    u.name = name;
    u.role = role;
    u.cameras = std::move(cams);
    u.password_hash = hash_password("password-" + name);
    u.created = kT0;
    accounts_.add_user(u);
  }

  // Logs in; returns the headers a browser would then send (cookie and CSRF token).
  std::map<std::string, std::string> login(const std::string& name) {
    auto r =
        call("POST", "/api/login", json{{"name", name}, {"password", "password-" + name}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    std::string cookie;
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
    }
    return {{"cookie", cookie}, {"x-csrf-token", json::parse(r.body)["csrf_token"]}};
  }

  static std::string header(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  test::TempDir dir_;
  ConfigStore config_;
  Catalog catalog_;
  AccountStore accounts_;
  test::FakeClock clock_;
  Api api_;
  Api* api_for_calls_ = &api_;  // another Api over the same accounts, for other [http] settings
};

TEST_F(ApiTest, OpenApiDocumentListsExactlyTheRegisteredRoutes) {
  const json doc = json::parse(openapi_document());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::string> documented;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      if (method == "parameters") continue;
      std::string m = method;
      for (auto& c : m) c = static_cast<char>(std::toupper(c));
      documented.insert(m + " " + path);
    }
  }
  std::set<std::string> registered;
  for (const auto& r : api_.router().routes()) {
    registered.insert(r.method + " " + r.openapi_path());
    // Every path parameter is declared, and public routes say so.
    const json& item = doc["paths"][r.openapi_path()];
    for (const auto& s : r.segments) {
      if (s.param.empty()) continue;
      bool declared = false;
      for (const auto& p : item.value("parameters", json::array()))
        declared |= p["name"] == s.param;
      EXPECT_TRUE(declared) << r.pattern << ": parameter " << s.param;
    }
    std::string m = r.method;
    for (auto& c : m) c = static_cast<char>(std::tolower(c));
    const bool doc_public = item[m].contains("security") && item[m]["security"].empty();
    EXPECT_EQ(doc_public, !r.access.authenticated) << r.method << " " << r.pattern;
  }
  EXPECT_EQ(documented, registered);
}

TEST_F(ApiTest, RoutingErrorsAreJson) {
  auto r = call("GET", "/api/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"], "not_found");
  r = call("PUT", "/api/login", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "POST");
  r = call("GET", "/api/cameras/..%2f..%2fvigil.db");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/api/me?x=%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(call("GET", "/api/me"), "Cache-Control"), "no-store");
}

TEST_F(ApiTest, PasswordRoutesAreClassifiedSlow) {
  EXPECT_TRUE(api_.classify("POST", "/api/login").slow);
  EXPECT_TRUE(api_.classify("POST", "/api/setup").slow);
  EXPECT_TRUE(api_.classify("POST", "/api/me/password").slow);
  EXPECT_FALSE(api_.classify("GET", "/api/me").slow);
  EXPECT_FALSE(api_.classify("GET", "/api/cameras/front").slow);
  EXPECT_FALSE(api_.classify("GET", "/nowhere").slow);
  EXPECT_EQ(api_.classify("POST", "/api/login").body_limit, 0u);  // the server's default
}

TEST_F(ApiTest, SetupCreatesTheFirstAdminOnce) {
  const auto token = api_.setup_token();
  ASSERT_TRUE(token);
  auto r = call("POST", "/api/setup",
                json{{"token", "wrong"}, {"name", "root"}, {"password", "long enough"}}.dump());
  EXPECT_EQ(r.status, 403);
  r = call("POST", "/api/setup",
           json{{"token", *token}, {"name", "root"}, {"password", "short"}}.dump());
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/setup",
           json{{"token", *token}, {"name", "root"}, {"password", "long enough"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["role"], "admin");
  EXPECT_NE(header(r, "Set-Cookie").find("vigil_session="), std::string::npos);
  EXPECT_FALSE(api_.setup_token());
  r = call("POST", "/api/setup",
           json{{"token", *token}, {"name", "eve"}, {"password", "long enough"}}.dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(accounts_.user_count(), 1);
}

TEST_F(ApiTest, LoginBruteForceIsThrottledWithRetryAfter) {
  add_user("ann", Role::kViewer);
  const std::string wrong = json{{"name", "ann"}, {"password", "guess"}}.dump();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("POST", "/api/login", wrong).status, 401);
  auto r = call("POST", "/api/login", wrong);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  // Locked means locked: even the right password waits (no oracle for the attacker).
  r = call("POST", "/api/login", json{{"name", "ann"}, {"password", "password-ann"}}.dump());
  EXPECT_EQ(r.status, 429);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(call("POST", "/api/login", wrong).status, 401);
  EXPECT_EQ(header(call("POST", "/api/login", wrong), "Retry-After"), "2");
  clock_.advance(std::chrono::seconds(2));
  login("ann");

  AuditFilter f;
  f.action = "login_failed";
  EXPECT_EQ(accounts_.audit(f).size(), 6u);  // throttled attempts are not failures
  f.action = "login";
  ASSERT_EQ(accounts_.audit(f).size(), 1u);
  EXPECT_EQ(accounts_.audit(f)[0].address, "192.0.2.9");
}

// Issue 18: an attacker guessing at the admin's account locks only the addresses it guesses
// from; the admin, from an address that has not failed, still logs in.
TEST_F(ApiTest, GuessingAtAnAccountNeverLocksItsOwnerOutFromElsewhere) {
  add_user("ann", Role::kAdmin);
  const std::string wrong = json{{"name", "ann"}, {"password", "guess"}}.dump();
  const std::string right = json{{"name", "ann"}, {"password", "password-ann"}}.dump();
  // Five failures lock the (account, address) pair.
  address_ = "198.51.100.1";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("POST", "/api/login", wrong).status, 401);
  EXPECT_EQ(call("POST", "/api/login", wrong).status, 429);
  EXPECT_EQ(call("POST", "/api/login", right).status, 429);  // locked means locked
  // Five more from a second address: ten for the account, which is now locked...
  address_ = "198.51.100.2";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("POST", "/api/login", wrong).status, 401);
  // ... for every address that has failed for it, after its first failure.
  address_ = "198.51.100.3";
  EXPECT_EQ(call("POST", "/api/login", wrong).status, 401);
  EXPECT_EQ(call("POST", "/api/login", right).status, 429);
  // The admin's own address never failed: the right password works at once.
  address_ = "192.0.2.9";
  EXPECT_EQ(call("POST", "/api/login", right).status, 200);
}

TEST_F(ApiTest, BodiesAreCheckedBeforeUse) {
  EXPECT_EQ(call("POST", "/api/login", "{\"name\": ").status, 400);
  EXPECT_EQ(call("POST", "/api/login", "[1, 2]").status, 400);
  EXPECT_EQ(call("POST", "/api/login", "name=ann&password=x",
                 {{"content-type", "application/x-www-form-urlencoded"}})
                .status,
            415);
  EXPECT_EQ(call("POST", "/api/login", json{{"name", 5}, {"password", "x"}}.dump()).status, 400);
  EXPECT_EQ(
      call("POST", "/api/login", json{{"name", "ann"}, {"password", "x"}, {"admin", true}}.dump())
          .status,
      400);
  auto r = call("POST", "/api/login",
                json{{"name", "' OR 1=1; --"}, {"password", "' OR '1'='1"}}.dump());
  EXPECT_EQ(r.status, 401);
}

TEST_F(ApiTest, SessionsNeedCsrfForChangesAndLogoutEndsThem) {
  add_user("ann", Role::kAdmin);
  auto h = login("ann");
  auto me = call("GET", "/api/me", "", {{"cookie", h["cookie"]}});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["csrf_token"], h["x-csrf-token"]);
  const std::string new_user =
      json{{"name", "vic"}, {"password", "password-vic"}, {"role", "viewer"}}.dump();
  EXPECT_EQ(call("POST", "/api/users", new_user, {{"cookie", h["cookie"]}}).status, 403);
  EXPECT_EQ(
      call("POST", "/api/users", new_user, {{"cookie", h["cookie"]}, {"x-csrf-token", "forged"}})
          .status,
      403);
  EXPECT_EQ(call("POST", "/api/users", new_user, h).status, 201);
  EXPECT_EQ(call("POST", "/api/users", new_user, h).status, 409);
  EXPECT_EQ(call("POST", "/api/logout", "", {{"cookie", h["cookie"]}}).status, 403);
  EXPECT_EQ(call("POST", "/api/logout", "", h).status, 204);
  EXPECT_EQ(call("GET", "/api/me", "", h).status, 401);
}

TEST_F(ApiTest, RolesAndCameraRights) {
  add_user("ann", Role::kAdmin);
  add_user("vic", Role::kViewer, std::vector<std::string>{"front"});
  auto admin = login("ann");
  auto viewer = login("vic");
  auto r = call("GET", "/api/cameras", "", viewer);
  EXPECT_EQ(json::parse(r.body)["cameras"].size(), 1u);
  r = call("GET", "/api/cameras/front", "", viewer);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"]["state"], "recording");
  EXPECT_FALSE(json::parse(r.body)["status"].contains("url"));
  EXPECT_EQ(call("GET", "/api/cameras/yard", "", viewer).status, 403);
  EXPECT_EQ(call("GET", "/api/cameras/ghost", "", viewer).status, 403);
  EXPECT_EQ(call("GET", "/api/cameras/ghost", "", admin).status, 404);
  EXPECT_EQ(call("GET", "/api/users", "", viewer).status, 403);
  EXPECT_EQ(call("GET", "/api/audit", "", viewer).status, 403);
  EXPECT_EQ(call("GET", "/api/users", "", admin).status, 200);
  // The list (admins only, above) says who has a second factor, never its secret.
  {
    const int64_t vic = accounts_.user_by_name("vic")->id;
    ASSERT_TRUE(accounts_.begin_totp(vic, std::vector<uint8_t>(20, 7), clock_.wall_now()));
    const auto before = json::parse(call("GET", "/api/users", "", admin).body)["users"];
    for (const auto& u : before) EXPECT_EQ(u["totp"], false) << u << " (not confirmed yet)";
    ASSERT_TRUE(accounts_.confirm_totp(vic, 1, {}));
    const auto r = call("GET", "/api/users", "", admin);
    // Held in a variable: a range-for over a member of a temporary reads freed memory (ASan).
    const json users = json::parse(r.body)["users"];
    for (const auto& u : users) EXPECT_EQ(u["totp"], u["name"] == "vic") << u;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
  }

  // The last admin can be neither demoted nor removed.
  EXPECT_EQ(call("PATCH", "/api/users/ann", json{{"role", "viewer"}}.dump(), admin).status, 409);
  EXPECT_EQ(call("DELETE", "/api/users/ann", "", admin).status, 409);
  r = call("PATCH", "/api/users/vic", json{{"cameras", {"front", "yard"}}}.dump(), admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(call("GET", "/api/cameras/yard", "", viewer).status, 200);
  EXPECT_EQ(call("PATCH", "/api/users/vic", json{{"cameras", {"../x"}}}.dump(), admin).status, 400);
  EXPECT_EQ(call("DELETE", "/api/users/vic", "", admin).status, 204);
  EXPECT_EQ(call("GET", "/api/me", "", viewer).status, 401);

  r = call("GET", "/api/audit?action=user_change", "", admin);
  ASSERT_EQ(r.status, 200);
  const json entries = json::parse(r.body)["entries"];
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["user"], "ann");
  EXPECT_EQ(entries[0]["detail"], "user vic: cameras=front,yard");
  EXPECT_EQ(call("GET", "/api/audit?limit=0", "", admin).status, 400);
  EXPECT_EQ(call("GET", "/api/audit?bogus=1", "", admin).status, 400);
}

TEST_F(ApiTest, TokensAreShownOnceAndRevocable) {
  add_user("ann", Role::kOperator);
  add_user("bob", Role::kOperator);
  auto ann = login("ann");
  // Making a token needs the password again: a stolen cookie cannot become a lasting token.
  auto r = call("POST", "/api/tokens", json{{"name", "nightly export"}}.dump(), ann);
  EXPECT_EQ(r.status, 400) << r.body;
  r = call("POST", "/api/tokens", json{{"name", "x"}, {"password", "wrong"}}.dump(), ann);
  EXPECT_EQ(r.status, 403) << r.body;
  r = call("POST", "/api/tokens",
           json{{"name", "nightly export"}, {"password", "password-ann"}}.dump(), ann);
  ASSERT_EQ(r.status, 201);
  const std::string token = json::parse(r.body)["token"];
  const int64_t id = json::parse(r.body)["id"];
  const std::map<std::string, std::string> bearer{{"authorization", "Bearer " + token}};
  r = call("GET", "/api/me", "", bearer);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["via"], "token");
  EXPECT_FALSE(json::parse(r.body).contains("csrf_token"));
  r = call("GET", "/api/tokens", "", bearer);
  EXPECT_EQ(r.body.find(token), std::string::npos);  // never shown again
  EXPECT_EQ(json::parse(r.body)["tokens"][0]["name"], "nightly export");
  auto bob = login("bob");
  EXPECT_EQ(call("DELETE", "/api/tokens/" + std::to_string(id), "", bob).status, 404);
  EXPECT_EQ(call("DELETE", "/api/tokens/" + std::to_string(id), "", bearer).status, 204);
  EXPECT_EQ(call("GET", "/api/me", "", bearer).status, 401);
}

// Issue 18: camera rights are explicit. No list is no camera, ["*"] is every camera, and an
// admin is not demoted into "every camera" by omission.
// The second factor over the API: enrolment needs the password and a first code, a login then
// needs a code, each code and each recovery code works once, wrong codes are throttled like
// wrong passwords, and removing it needs the password. All audited.
class SecondFactorTest : public ApiTest {
 protected:
  std::vector<uint8_t> enrol(const std::map<std::string, std::string>& h) {
    auto r = call("POST", "/api/me/totp", json{{"password", "password-ann"}}.dump(), h);
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body);
    EXPECT_EQ(j["uri"].get<std::string>().rfind("otpauth://totp/vigil:ann?secret=", 0), 0u);
    return base32_decode(j["secret"].get<std::string>()).value();
  }
  std::string code_now(const std::vector<uint8_t>& key, int64_t steps_ahead = 0) {
    return totp_code(key, totp_step(ms_since_epoch(clock_.wall_now()) / 1000) + steps_ahead);
  }
  // A code that is none of the window's.
  std::string wrong_code(const std::vector<uint8_t>& key) {
    const std::set<std::string> window = {code_now(key, -1), code_now(key), code_now(key, 1)};
    for (int n = 123456;; ++n) {
      if (!window.count(std::to_string(n))) return std::to_string(n);
    }
  }
  http::Response login_with(const std::optional<std::string>& code) {
    json body{{"name", "ann"}, {"password", "password-ann"}};
    if (code) body["code"] = *code;
    return call("POST", "/api/login", body.dump());
  }
  size_t audited(const std::string& action) {
    AuditFilter f;
    f.action = action;
    return accounts_.audit(f).size();
  }
};

TEST_F(SecondFactorTest, EnrolLogInWithCodesOnceAndRecoveryCodesOnce) {
  add_user("ann", Role::kViewer);
  const auto h = login("ann");
  EXPECT_EQ(call("POST", "/api/me/totp", json{{"password", "wrong"}}.dump(), h).status, 403);
  const auto key = enrol(h);
  EXPECT_FALSE(json::parse(call("GET", "/api/me", "", h).body)["totp"].get<bool>());
  // Until confirmed, logging in needs no code.
  EXPECT_EQ(login_with(std::nullopt).status, 200);
  EXPECT_EQ(call("POST", "/api/me/totp/confirm", json{{"code", wrong_code(key)}}.dump(), h).status,
            403);
  const std::string first = code_now(key);
  auto r = call("POST", "/api/me/totp/confirm", json{{"code", first}}.dump(), h);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto recovery = json::parse(r.body)["recovery_codes"].get<std::vector<std::string>>();
  ASSERT_EQ(recovery.size(), 10u);
  EXPECT_EQ(audited("totp_enrol"), 1u);
  const json me = json::parse(call("GET", "/api/me", "", h).body);
  EXPECT_TRUE(me["totp"].get<bool>());
  EXPECT_EQ(me["recovery_codes_left"], 10);
  // A second enrolment is refused while one is confirmed.
  EXPECT_EQ(call("POST", "/api/me/totp", json{{"password", "password-ann"}}.dump(), h).status,
            409);

  r = login_with(std::nullopt);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "code_required");
  EXPECT_TRUE(header(r, "Set-Cookie").empty());
  // The code that confirmed the enrolment was used: it does not log in.
  r = login_with(first);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"], "wrong_code");
  clock_.advance(std::chrono::seconds(30));
  const std::string next = code_now(key);
  EXPECT_EQ(login_with(next).status, 200);
  EXPECT_EQ(login_with(next).status, 401);  // once
  // A recovery code, typed in capitals: once.
  std::string upper = recovery[3];
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(login_with(upper).status, 200);
  EXPECT_EQ(login_with(recovery[3]).status, 401);
  AuditFilter f;
  f.action = "recovery_code_used";
  ASSERT_EQ(accounts_.audit(f).size(), 1u);
  EXPECT_EQ(accounts_.audit(f)[0].detail, "9 recovery codes left");
  f.action = "login_failed";
  EXPECT_EQ(accounts_.audit(f).size(), 3u);
  EXPECT_EQ(accounts_.audit(f)[0].detail, "wrong second-factor code");

  // Wrong codes count like wrong passwords (the login with the recovery code cleared the count;
  // the used recovery code is one): four more make five from this address, then 429, even for
  // the right code.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(login_with(wrong_code(key)).status, 401);
  EXPECT_EQ(login_with(wrong_code(key)).status, 429);
  EXPECT_EQ(login_with(code_now(key, 1)).status, 429);

  // Removing it needs the password.
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(call("POST", "/api/me/totp/disable", json{{"password", "wrong"}}.dump(), h).status,
            403);
  EXPECT_EQ(
      call("POST", "/api/me/totp/disable", json{{"password", "password-ann"}}.dump(), h).status,
      204);
  EXPECT_EQ(audited("totp_disable"), 1u);
  EXPECT_EQ(login_with(std::nullopt).status, 200);
  EXPECT_EQ(accounts_.recovery_codes_left(accounts_.user_by_name("ann")->id), 0);
}

// A user who lost the phone and the recovery codes: an admin removes the second factor.
TEST_F(SecondFactorTest, AnAdminRemovesAUsersSecondFactor) {
  add_user("ann", Role::kViewer);
  add_user("root", Role::kAdmin);
  const auto h = login("ann");
  const auto key = enrol(h);
  ASSERT_EQ(call("POST", "/api/me/totp/confirm", json{{"code", code_now(key)}}.dump(), h).status,
            200);
  EXPECT_EQ(login_with(std::nullopt).status, 401);
  const auto admin = login("root");
  EXPECT_EQ(call("PATCH", "/api/users/ann", json{{"totp", true}}.dump(), admin).status, 400);
  EXPECT_EQ(call("PATCH", "/api/users/ann", json{{"totp", false}}.dump(), admin).status, 200);
  EXPECT_EQ(login_with(std::nullopt).status, 200);
  AuditFilter f;
  f.action = "user_change";
  EXPECT_NE(accounts_.audit(f)[0].detail.find("second factor removed"), std::string::npos);
}

TEST_F(SecondFactorTest, AdminsMustEnrolFirstWhenRequired) {
  // [http] takes effect at start: a server started with the setting.
  std::ofstream(dir_.path() / "vigil.toml", std::ios::app)
      << "[http]\nrequire_2fa_for_admins = true\n";
  ConfigStore strict_config(dir_.path() / "vigil.toml");
  Api strict(strict_config, accounts_, clock_, [] { return json::object(); });
  api_for_calls_ = &strict;
  add_user("ann", Role::kAdmin);
  add_user("val", Role::kViewer, {"front"});
  const auto h = login("ann");
  auto r = call("GET", "/api/users", "", h);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("second factor"), std::string::npos) << r.body;
  EXPECT_EQ(call("GET", "/api/cameras", "", h).status, 403);
  EXPECT_TRUE(json::parse(call("GET", "/api/me", "", h).body)["must_enrol_totp"].get<bool>());
  // Other roles are not forced.
  EXPECT_EQ(call("GET", "/api/cameras", "", login("val")).status, 200);
  const auto key = enrol(h);
  EXPECT_EQ(call("GET", "/api/users", "", h).status, 403);  // not before it is confirmed
  ASSERT_EQ(call("POST", "/api/me/totp/confirm", json{{"code", code_now(key)}}.dump(), h).status,
            200);
  EXPECT_EQ(call("GET", "/api/users", "", h).status, 200);
  EXPECT_FALSE(json::parse(call("GET", "/api/me", "", h).body)["must_enrol_totp"].get<bool>());
}

TEST_F(ApiTest, CameraRightsFailClosed) {
  add_user("ann", Role::kAdmin);
  add_user("boss", Role::kAdmin);
  const auto admin = login("ann");
  auto r = call("POST", "/api/users",
                json{{"name", "vic"}, {"password", "password-vic"}, {"role", "viewer"}}.dump(), admin);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["cameras"], json::array());
  const auto vic = login("vic");
  EXPECT_EQ(json::parse(call("GET", "/api/cameras", "", vic).body)["cameras"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/cameras/front", "", vic).status, 403);
  r = call("PATCH", "/api/users/vic", json{{"cameras", {"*"}}}.dump(), admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["cameras"], json::array({"*"}));
  EXPECT_EQ(json::parse(call("GET", "/api/cameras", "", vic).body)["cameras"].size(), 2u);
  EXPECT_EQ(call("PATCH", "/api/users/vic", json{{"cameras", nullptr}}.dump(), admin).status, 400);
  EXPECT_EQ(call("PATCH", "/api/users/vic", json{{"cameras", {"*", "front"}}}.dump(), admin).status,
            400);
  // Demoting an admin: the cameras must be said.
  r = call("PATCH", "/api/users/boss", json{{"role", "viewer"}}.dump(), admin);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("give \\\"cameras\\\""), std::string::npos) << r.body;
  r = call("PATCH", "/api/users/boss", json{{"role", "viewer"}, {"cameras", {"yard"}}}.dump(),
           admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["cameras"], json::array({"yard"}));
}

// A password reset by an admin, or a demotion, revokes the user's sessions and API tokens.
TEST_F(ApiTest, APasswordResetOrDemotionRevokesSessionsAndTokens) {
  add_user("ann", Role::kAdmin);
  add_user("bob", Role::kOperator);
  const auto admin = login("ann");
  std::string bob_password = "password-bob";
  for (const json& change : {json{{"password", "brand-new-password"}}, json{{"role", "viewer"}}}) {
    auto l = call("POST", "/api/login", json{{"name", "bob"}, {"password", bob_password}}.dump());
    ASSERT_EQ(l.status, 200) << l.body;
    const std::map<std::string, std::string> bob{
        {"cookie", header(l, "Set-Cookie").substr(0, header(l, "Set-Cookie").find(';'))},
        {"x-csrf-token", json::parse(l.body)["csrf_token"]}};
    auto r = call("POST", "/api/tokens", json{{"name", "t"}, {"password", bob_password}}.dump(),
                  bob);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::map<std::string, std::string> bearer{
        {"authorization", "Bearer " + json::parse(r.body)["token"].get<std::string>()}};
    ASSERT_EQ(call("GET", "/api/me", "", bearer).status, 200);
    ASSERT_EQ(call("PATCH", "/api/users/bob", change.dump(), admin).status, 200);
    EXPECT_EQ(call("GET", "/api/me", "", bearer).status, 401) << change;
    EXPECT_EQ(call("GET", "/api/me", "", bob).status, 401) << change;
    EXPECT_TRUE(accounts_.tokens_of(accounts_.user_by_name("bob")->id).empty());
    if (change.contains("password")) bob_password = change["password"];
  }
}

// A metrics token reads GET /metrics and nothing else; only an admin makes one; tokens expire.
TEST_F(ApiTest, MetricsTokensAndExpiry) {
  add_user("ann", Role::kAdmin);
  add_user("op", Role::kOperator);
  const auto admin = login("ann");
  auto r = call("POST", "/api/tokens",
                json{{"name", "prom"}, {"password", "password-op"}, {"scope", "metrics"}}.dump(),
                login("op"));
  EXPECT_EQ(r.status, 403) << r.body;
  r = call("POST", "/api/tokens",
           json{{"name", "prom"}, {"password", "password-ann"}, {"scope", "metrics"},
                {"expires_days", 30}}.dump(),
           admin);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["scope"], "metrics");
  EXPECT_FALSE(json::parse(r.body)["expires"].is_null());
  const std::map<std::string, std::string> prom{
      {"authorization", "Bearer " + json::parse(r.body)["token"].get<std::string>()}};
  EXPECT_EQ(call("GET", "/metrics", "", prom).status, 200);
  for (const char* path : {"/api/me", "/api/cameras", "/api/users", "/api/cameras/front"}) {
    EXPECT_EQ(call("GET", path, "", prom).status, 403) << path;
  }
  EXPECT_EQ(call("GET", "/metrics", "", admin).status, 200);  // an admin still reads it
  EXPECT_EQ(call("POST", "/api/tokens", json{{"name", "x"}, {"password", "password-ann"},
                                             {"expires_days", 0}}.dump(), admin).status, 400);
  clock_.advance(std::chrono::hours(24 * 30));
  EXPECT_EQ(call("GET", "/metrics", "", prom).status, 401);  // expired
}

TEST_F(ApiTest, UserNamesAreUniqueWhateverTheirCase) {
  add_user("admin", Role::kAdmin);
  const auto h = login("admin");
  auto r = call("POST", "/api/users",
                json{{"name", "Admin"}, {"password", "password-x"}, {"role", "viewer"},
                     {"cameras", json::array()}}.dump(),
                h);
  EXPECT_EQ(r.status, 409) << r.body;
}

TEST_F(ApiTest, AdminsAddChangeAndRemoveCamerasInTheConfigurationFile) {
  add_user("boss", Role::kAdmin);
  add_user("op", Role::kOperator);
  const auto admin = login("boss");
  const auto op = login("op");
  int applied = 0;
  config_.subscribe([&](const Config&, const Config&) { ++applied; });

  const std::string door = json{{"id", "door"}, {"name", "Door"},
                                {"url", "rtsp://u:hunter2@192.0.2.3/s"}}.dump();
  EXPECT_EQ(call("POST", "/api/cameras", door, op).status, 403);
  auto no_csrf = admin;
  no_csrf.erase("x-csrf-token");
  EXPECT_EQ(call("POST", "/api/cameras", door, no_csrf).status, 403);
  auto r = call("POST", "/api/cameras", door, admin);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Location"), "/api/cameras/door");
  EXPECT_EQ(json::parse(r.body)["url"], "rtsp://u:***@192.0.2.3/s");  // never sent back
  EXPECT_EQ(call("POST", "/api/cameras", door, admin).status, 409);
  r = call("POST", "/api/cameras", json{{"id", "bad"}, {"url", "http://x/"}}.dump(), admin);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("rtsp://"), std::string::npos) << r.body;
  EXPECT_TRUE(config_.current()->find_camera("door"));
  EXPECT_TRUE(load_config(dir_.path() / "vigil.toml").find_camera("door"));

  // Viewers see names only; admins see the settings with passwords masked.
  r = call("GET", "/api/cameras", "", op);
  EXPECT_FALSE(json::parse(r.body)["cameras"][2].contains("url")) << r.body;
  r = call("GET", "/api/cameras/door", "", admin);
  const json got = json::parse(r.body);
  EXPECT_EQ(got["url"], "rtsp://u:***@192.0.2.3/s");

  // Sending back what GET gave (masked URL) keeps the password.
  r = call("PATCH", "/api/cameras/door",
           json{{"url", got["url"]}, {"name", "Back door"}, {"enabled", false}}.dump(), admin);
  ASSERT_EQ(r.status, 200) << r.body;
  const CameraConfig* c = config_.current()->find_camera("door");
  EXPECT_EQ(c->url, "rtsp://u:hunter2@192.0.2.3/s");
  EXPECT_EQ(c->name, "Back door");
  EXPECT_FALSE(c->enabled);
  EXPECT_EQ(call("PATCH", "/api/cameras/door", json{{"transport", "smoke"}}.dump(), admin).status,
            400);
  EXPECT_EQ(call("PATCH", "/api/cameras/nope", json{{"name", "x"}}.dump(), admin).status, 404);
  EXPECT_EQ(call("DELETE", "/api/cameras/door", "", op).status, 403);
  EXPECT_EQ(call("DELETE", "/api/cameras/door", "", admin).status, 204);
  EXPECT_EQ(call("GET", "/api/cameras/door", "", admin).status, 404);
  EXPECT_FALSE(load_config(dir_.path() / "vigil.toml").find_camera("door"));
  EXPECT_EQ(applied, 3);

  // Every change is in the audit log, without the password.
  r = call("GET", "/api/audit?camera=door", "", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> actions;
  const json page = json::parse(r.body);
  for (const auto& e : page["entries"]) actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"camera_remove", "camera_change", "camera_add"}));
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace vigil
