// Accounts and authentication: Argon2id passwords, the account store (with its append-only
// audit log), session and token lifecycles, the login throttle, and the authorization matrix.
#include <gtest/gtest.h>

#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "serve/auth.h"
#include "serve/authorize.h"
#include "serve/crypto.h"
#include "serve/throttle.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

TEST(Crypto, PasswordHashIsArgon2idSaltedAndVerifies) {
  const std::string h = hash_password("correct horse");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_NE(h, hash_password("correct horse"));  // salted
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct horsf"));
  EXPECT_FALSE(verify_password(h, ""));
  EXPECT_FALSE(verify_password("not a hash", "correct horse"));
  EXPECT_FALSE(verify_password(std::string(500, 'x'), "correct horse"));
}

TEST(Crypto, PasswordRules) {
  EXPECT_EQ(password_problem("1234567"), "a password needs 8 to 1024 characters");
  EXPECT_EQ(password_problem("12345678"), "");
  EXPECT_EQ(password_problem(std::string(1024, 'x')), "");
  EXPECT_NE(password_problem(std::string(1025, 'x')), "");
}

TEST(Crypto, SecretsAndCsrfTokens) {
  const std::string a = random_secret(32);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(a, random_secret(32));
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(sha256("abc")[0], 0xba);  // FIPS 180-2 test vector: ba7816bf...
  EXPECT_EQ(csrf_token_for(a), csrf_token_for(a));
  EXPECT_NE(csrf_token_for(a), csrf_token_for(random_secret(32)));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Throttle, ExponentialDelayAfterFreeFailuresThenForgets) {
  test::FakeClock clock(kT0);
  FailureThrottle t(clock, ThrottlePolicy{3, seconds(1), seconds(8), seconds(600), 100});
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(t.wait_time("ann"));
    t.record_failure("ann");
  }
  EXPECT_FALSE(t.wait_time("ann"));  // two failures are free
  t.record_failure("ann");           // the 3rd: wait 1 s
  EXPECT_EQ(t.wait_time("ann"), seconds(1));
  EXPECT_FALSE(t.wait_time("bob"));  // keys are independent
  clock.advance(seconds(1));
  EXPECT_FALSE(t.wait_time("ann"));
  t.record_failure("ann");  // 4th: 2 s
  EXPECT_EQ(t.wait_time("ann"), seconds(2));
  t.record_failure("ann");  // 5th: 4 s
  t.record_failure("ann");  // 6th: 8 s
  t.record_failure("ann");  // 7th: capped at 8 s
  EXPECT_EQ(t.wait_time("ann"), seconds(8));
  clock.advance(std::chrono::milliseconds(7500));
  EXPECT_EQ(t.wait_time("ann"), seconds(1));  // rounded up
  clock.advance(seconds(600));
  EXPECT_FALSE(t.wait_time("ann"));
  t.record_failure("ann");  // forgotten: free again
  EXPECT_FALSE(t.wait_time("ann"));
  t.record_success("ann");
  EXPECT_EQ(t.tracked_keys(), 0u);
}

TEST(Throttle, StaysBoundedUnderAFloodOfKeys) {
  test::FakeClock clock(kT0);
  FailureThrottle t(clock, ThrottlePolicy{1, seconds(60), seconds(60), seconds(600), 50});
  for (int i = 0; i < 1000; ++i) {
    // Appended, not `"k" + std::to_string(i)`: GCC 12 at -O3 reads that insert at the front as
    // an overlapping memcpy (-Wrestrict false positive, GCC bug 105651).
    std::string key = "k";
    key += std::to_string(i);
    t.record_failure(key);
  }
  EXPECT_LE(t.tracked_keys(), 50u);
  t.record_failure("k999");
  EXPECT_TRUE(t.wait_time("k999"));  // the newest keys are the ones kept
}

class AccountsTest : public ::testing::Test {
 protected:
  AccountsTest() : catalog_(dir_.path() / "vigil.db"), store_(dir_.path() / "vigil.db") {}

  User make_user(const std::string& name, Role role, std::vector<std::string> cams = {"*"}) {
    User u;
    u.name = name;
    u.role = role;
    u.cameras = std::move(cams);
    u.password_hash = "$argon2id$fake";
    u.created = kT0;
    u.id = store_.add_user(u);
    return u;
  }

  test::TempDir dir_;
  Catalog catalog_;
  AccountStore store_;
};

TEST_F(AccountsTest, UsersRolesAndCameraLists) {
  EXPECT_EQ(store_.user_count(), 0);
  const User ann = make_user("ann", Role::kAdmin, std::vector<std::string>{"x"});
  const User vic = make_user("vic", Role::kViewer, std::vector<std::string>{"front", "yard"});
  const User ola = make_user("ola", Role::kOperator);
  EXPECT_EQ(store_.user_count(), 3);
  EXPECT_EQ(store_.admin_count(), 1);
  EXPECT_EQ(store_.user_by_name("ann")->cameras, std::vector<std::string>{"*"});  // admins: all
  EXPECT_EQ(store_.user_by_name("vic")->cameras, (std::vector<std::string>{"front", "yard"}));
  EXPECT_TRUE(store_.user_by_name("vic")->may_see_camera("yard"));
  EXPECT_FALSE(store_.user_by_name("vic")->may_see_camera("back"));
  EXPECT_TRUE(store_.user_by_name("ola")->may_see_camera("back"));
  EXPECT_EQ(store_.user(vic.id)->name, "vic");

  try {
    make_user("vic", Role::kViewer);
    ADD_FAILURE() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
  }
  EXPECT_THROW(make_user("'; DROP TABLE user; --", Role::kViewer), Error);
  EXPECT_THROW(make_user("../etc", Role::kViewer), Error);
  EXPECT_EQ(store_.user_count(), 3);

  User changed = *store_.user(vic.id);
  changed.role = Role::kOperator;
  changed.cameras = std::vector<std::string>{};
  store_.update_user(changed);
  EXPECT_EQ(store_.user(vic.id)->role, Role::kOperator);
  EXPECT_EQ(store_.user(vic.id)->cameras, std::vector<std::string>{});
  EXPECT_FALSE(store_.user(vic.id)->may_see_camera("front"));

  User eve;
  eve.name = "eve";
  eve.password_hash = "h";
  eve.created = kT0;
  EXPECT_FALSE(store_.add_first_user(eve));  // users exist: no "first" user any more
  EXPECT_TRUE(store_.delete_user(ola.id));
  EXPECT_FALSE(store_.delete_user(ola.id));
  EXPECT_EQ(store_.users().size(), 2u);
  (void)ann;
}

TEST_F(AccountsTest, FirstUserOnlyWhenThereIsNone) {
  User u;
  u.name = "root";
  u.role = Role::kAdmin;
  u.password_hash = "h";
  u.created = kT0;
  EXPECT_TRUE(store_.add_first_user(u));
  u.name = "second";
  EXPECT_FALSE(store_.add_first_user(u));
  EXPECT_EQ(store_.user_count(), 1);
}

TEST_F(AccountsTest, AuditLogIsAppendOnlyAndFilterable) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e;
    e.at = kT0 + minutes(i);
    e.user_name = i % 2 ? "ann" : "bob";
    e.address = "192.0.2.1";
    e.action = i == 4 ? "login_failed" : "login";
    if (i == 3) {
      e.camera_id = "front";
      e.range_start = kT0;
      e.range_end = kT0 + minutes(1);
    }
    e.detail = "n" + std::to_string(i);
    store_.append_audit(e);
  }
  auto all = store_.audit({});
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().detail, "n4");  // newest first
  AuditFilter f;
  f.user_name = "ann";
  EXPECT_EQ(store_.audit(f).size(), 2u);
  f = {};
  f.action = "login_failed";
  EXPECT_EQ(store_.audit(f).at(0).detail, "n4");
  f = {};
  f.camera_id = "front";
  auto cam = store_.audit(f);
  ASSERT_EQ(cam.size(), 1u);
  EXPECT_EQ(cam[0].range_end, kT0 + minutes(1));
  f = {};
  f.from = kT0 + minutes(1);
  f.to = kT0 + minutes(3);
  EXPECT_EQ(store_.audit(f).size(), 2u);
  f = {};
  f.limit = 2;
  auto page1 = store_.audit(f);
  f.before_id = page1.back().id;
  auto page2 = store_.audit(f);
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2.front().detail, "n2");
  f.user_name = "x' OR '1'='1";
  EXPECT_TRUE(store_.audit(f).empty());

  // The database itself refuses to rewrite history, whatever code asks.
  sql::SqliteConnection raw((dir_.path() / "vigil.db").string());
  EXPECT_THROW(raw.exec("UPDATE audit SET detail = 'nothing happened'"), Error);
  EXPECT_THROW(raw.exec("DELETE FROM audit"), Error);
  EXPECT_EQ(store_.audit({}).size(), 5u);
}

class AuthTest : public AccountsTest {
 protected:
  AuthTest() : clock_(kT0), auth_(store_, clock_, hours(24)) {}
  test::FakeClock clock_;
  Authenticator auth_;
};

TEST_F(AuthTest, SessionLifecycle) {
  const User ann = make_user("ann", Role::kViewer);
  const auto s = auth_.start_session(ann, "192.0.2.7");
  EXPECT_EQ(s.id.size(), 43u);
  EXPECT_EQ(s.expires, kT0 + hours(24));
  auto p = auth_.from_session_id(s.id);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user.name, "ann");
  EXPECT_EQ(p->via, Principal::Via::kSession);
  EXPECT_EQ(p->csrf_token, s.csrf_token);
  // Only the hash is stored: the id itself appears nowhere in the catalog.
  sql::SqliteConnection raw((dir_.path() / "vigil.db").string());
  auto st = raw.prepare("SELECT COUNT(*) AS n FROM session WHERE id_sha256 = :h");
  st.bind(":h", sha256(s.id)).step();
  EXPECT_EQ(st.int64("n"), 1);

  EXPECT_FALSE(auth_.from_session_id(random_secret(32)));
  EXPECT_FALSE(auth_.from_session_id(""));
  EXPECT_FALSE(auth_.from_session_id(std::string(10'000, 'a')));

  http::Request req;
  req.headers["cookie"] = "x=1; vigil_session=" + s.id;
  EXPECT_TRUE(auth_.from_request(req));
  req.headers["authorization"] = "Bearer nonsense";  // a bad token is not rescued by the cookie
  EXPECT_FALSE(auth_.from_request(req));

  clock_.advance(hours(24));
  EXPECT_FALSE(auth_.from_session_id(s.id));  // expired (and removed)

  const auto s2 = auth_.start_session(ann, "192.0.2.7");
  auth_.end_session(*auth_.from_session_id(s2.id));
  EXPECT_FALSE(auth_.from_session_id(s2.id));

  const auto s3 = auth_.start_session(ann, "192.0.2.7");
  store_.delete_user(ann.id);  // sessions go with their user
  EXPECT_FALSE(auth_.from_session_id(s3.id));
}

TEST_F(AuthTest, CookieAttributes) {
  const std::string c = auth_.session_cookie("abc", false);
  EXPECT_EQ(c, "vigil_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400");
  EXPECT_NE(auth_.session_cookie("abc", true).find("; Secure"), std::string::npos);
  EXPECT_NE(auth_.session_cookie("", false).find("Max-Age=0"), std::string::npos);
}

// Migration 8 (issue 18) turns the old NULL camera list (every camera) into "*", so nobody's
// access changes when NULL starts to mean none. The database is taken back to just before it.
TEST(AccountsMigration, EveryoneKeepsTheirCamerasAndNullNowMeansNone) {
  test::TempDir dir;
  const auto file = dir.path() / "vigil.db";
  {
    Catalog catalog(file);
    AccountStore store(file);
    User u;
    u.name = "old";
    u.role = Role::kViewer;
    u.password_hash = "x";
    u.created = kT0;
    store.add_user(u);
    u.name = "listed";
    u.cameras = {"front"};
    store.add_user(u);
    sql::SqliteConnection db(file.string());
    // The migrations after 8 (till transactions, the second factor) are undone too, and run
    // again.
    db.exec(test::kUndoArchive);
    db.exec(test::kUndoSecondFactor);
    db.exec(test::kUndoTransactions);
    db.exec("UPDATE user SET cameras = NULL WHERE name = 'old'");
    db.exec("ALTER TABLE api_token DROP COLUMN scope");
    db.exec("ALTER TABLE api_token DROP COLUMN expires_ms");
    db.exec("PRAGMA user_version = 7");
    // Before the migration runs, a NULL list already reads as no camera (fail closed).
    EXPECT_FALSE(store.user_by_name("old")->may_see_camera("front"));
  }
  Catalog catalog(file);  // runs migration 8 again
  AccountStore store(file);
  EXPECT_EQ(store.user_by_name("old")->cameras, std::vector<std::string>{"*"});
  EXPECT_TRUE(store.user_by_name("old")->may_see_camera("anything"));
  EXPECT_EQ(store.user_by_name("listed")->cameras, std::vector<std::string>{"front"});
  EXPECT_FALSE(store.user_by_name("listed")->may_see_camera("yard"));
}

TEST_F(AuthTest, TokensExpire) {
  const User bob = make_user("bob", Role::kOperator);
  const auto t = auth_.create_token(bob, "week", TokenScope::kFull, std::chrono::days(7));
  ASSERT_TRUE(t.expires);
  EXPECT_TRUE(auth_.from_token(t.token));
  clock_.advance(hours(24 * 7) - seconds(1));
  EXPECT_TRUE(auth_.from_token(t.token));
  clock_.advance(seconds(1));
  EXPECT_FALSE(auth_.from_token(t.token));
}

TEST_F(AuthTest, TokenLifecycle) {
  const User bob = make_user("bob", Role::kOperator);
  const auto t = auth_.create_token(bob, "backup script", TokenScope::kFull, std::nullopt);
  EXPECT_EQ(t.token.rfind("vgt_", 0), 0u);
  http::Request req;
  req.headers["authorization"] = "Bearer " + t.token;
  auto p = auth_.from_request(req);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user.name, "bob");
  EXPECT_EQ(p->via, Principal::Via::kToken);
  EXPECT_EQ(store_.token(t.id)->last_used, kT0);
  clock_.advance(seconds(10));
  auth_.from_request(req);
  EXPECT_EQ(store_.token(t.id)->last_used, kT0);  // touched at most once a minute
  EXPECT_EQ(store_.tokens_of(bob.id).size(), 1u);

  req.headers["authorization"] = "Basic " + t.token;
  EXPECT_FALSE(auth_.from_request(req));
  req.headers["authorization"] = "Bearer " + t.token.substr(0, t.token.size() - 1) + "x";
  EXPECT_FALSE(auth_.from_request(req));

  EXPECT_TRUE(store_.delete_token(t.id));
  EXPECT_FALSE(auth_.from_token(t.token));
}

// Every combination of role, route requirement, camera list and CSRF that matters.
TEST(Authorize, Matrix) {
  auto principal = [](Role role, std::vector<std::string> cams,
                      Principal::Via via = Principal::Via::kToken) {
    Principal p;
    p.user.name = "u";
    p.user.role = role;
    p.user.cameras = std::move(cams);
    p.via = via;
    p.csrf_token = "tok";
    return p;
  };
  auto exists = [](const std::string& id) { return id == "front" || id == "yard"; };
  const std::map<std::string, std::string> front{{"id", "front"}};
  const std::map<std::string, std::string> yard{{"id", "yard"}};
  const std::map<std::string, std::string> ghost{{"id", "ghost"}};
  const Access pub{false, Role::kViewer, ""};
  const Access view{true, Role::kViewer, ""};
  const Access oper{true, Role::kOperator, ""};
  const Access adm{true, Role::kAdmin, ""};
  const Access cam{true, Role::kViewer, "id"};
  const Access cam_oper{true, Role::kOperator, "id"};

  const Principal admin = principal(Role::kAdmin, {});
  const Principal op = principal(Role::kOperator, std::vector<std::string>{"front"});
  const Principal viewer = principal(Role::kViewer, std::vector<std::string>{"front"});
  const Principal viewer_all = principal(Role::kViewer, {"*"});
  const Principal viewer_none = principal(Role::kViewer, {});
  auto status = [&](const Access& a, const Principal* p,
                    const std::map<std::string, std::string>& params,
                    const std::string& method = "GET", const std::string& csrf = "") {
    return authorize(a, p, method, csrf, params, exists).status;
  };
  EXPECT_EQ(status(pub, nullptr, {}), 0);
  for (const Access* a : {&view, &oper, &adm, &cam}) EXPECT_EQ(status(*a, nullptr, front), 401);

  struct Row {
    const Principal* who;
    int view, oper, adm, cam_front, cam_yard, cam_ghost, cam_oper_front;
  };
  const Row rows[] = {
      {&admin, 0, 0, 0, 0, 0, 404, 0},
      {&op, 0, 0, 403, 0, 403, 403, 0},
      {&viewer, 0, 403, 403, 0, 403, 403, 403},
      {&viewer_all, 0, 403, 403, 0, 0, 404, 403},
      {&viewer_none, 0, 403, 403, 403, 403, 403, 403},  // no list: no camera
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(role_name(r.who->user.role));
    EXPECT_EQ(status(view, r.who, {}), r.view);
    EXPECT_EQ(status(oper, r.who, {}), r.oper);
    EXPECT_EQ(status(adm, r.who, {}), r.adm);
    EXPECT_EQ(status(cam, r.who, front), r.cam_front);
    EXPECT_EQ(status(cam, r.who, yard), r.cam_yard);
    EXPECT_EQ(status(cam, r.who, ghost), r.cam_ghost);
    EXPECT_EQ(status(cam_oper, r.who, front), r.cam_oper_front);
  }

  // CSRF: only sessions, only state-changing methods.
  const Principal session_admin = principal(Role::kAdmin, {}, Principal::Via::kSession);
  EXPECT_EQ(status(view, &session_admin, {}, "GET"), 0);
  EXPECT_EQ(status(view, &session_admin, {}, "POST"), 403);
  EXPECT_EQ(status(view, &session_admin, {}, "DELETE", "wrong"), 403);
  EXPECT_EQ(status(view, &session_admin, {}, "PATCH", "tok"), 0);
  EXPECT_EQ(status(view, &admin, {}, "POST"), 0);  // a token needs no CSRF token

  // A metrics token: its route only, whatever its user's role.
  Principal metrics = principal(Role::kAdmin, {});
  metrics.token_scope = TokenScope::kMetrics;
  const Access metrics_route{true, Role::kAdmin, "", true};
  EXPECT_EQ(status(metrics_route, &metrics, {}), 0);
  EXPECT_EQ(status(metrics_route, &viewer, {}), 403);  // an ordinary viewer token: role
  for (const Access* a : {&view, &oper, &adm, &cam}) EXPECT_EQ(status(*a, &metrics, front), 403);
}

}  // namespace
}  // namespace vigil
