// The account store (catalog/accounts.h) on both catalog engines (engine_test.h): users with
// names unique whatever their case, sessions and tokens that go with their user, the second
// factor's steps and recovery codes used once, and the audit log: one hash chain however many
// writers append at once, newest-first pages, and rows the database itself refuses to change.
#include <gtest/gtest.h>

#include <thread>

#include "catalog/accounts.h"
#include "catalog/audit_chain.h"
#include "catalog/catalog.h"
#include "core/error.h"
#include "engine_test.h"

namespace vigil {
namespace {

using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

class AccountStoreOn : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    catalog_ = std::make_unique<Catalog>(location());  // migrates
    store_ = std::make_unique<AccountStore>(location());
  }
  User user(const std::string& name, Role role, std::vector<std::string> cameras = {}) {
    User u;
    u.name = name;
    u.password_hash = "$argon2id$" + name;
    u.role = role;
    u.cameras = std::move(cameras);
    u.created = kT0;
    return u;
  }
  static std::vector<uint8_t> bytes(uint8_t b) { return std::vector<uint8_t>(32, b); }

  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<AccountStore> store_;
};
VIGIL_ON_BOTH_ENGINES(AccountStoreOn);

TEST_P(AccountStoreOn, UsersSessionsAndTokens) {
  EXPECT_TRUE(store_->add_first_user(user("root", Role::kAdmin)));
  EXPECT_FALSE(store_->add_first_user(user("other", Role::kAdmin))) << "only the first";
  const int64_t ann = store_->add_user(user("ann", Role::kViewer, {"front", "yard"}));
  try {
    store_->add_user(user("ANN", Role::kViewer));
    ADD_FAILURE() << "a name taken in another case";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
    EXPECT_NE(std::string(e.what()).find("as \"ann\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(store_->add_user(user("-bad", Role::kViewer)), Error);
  EXPECT_EQ(store_->user_count(), 2);
  EXPECT_EQ(store_->admin_count(), 1);
  auto u = store_->user_by_name("ann");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->id, ann);
  EXPECT_EQ(u->cameras, (std::vector<std::string>{"front", "yard"}));
  EXPECT_TRUE(u->may_see_camera("yard"));
  EXPECT_FALSE(u->may_see_camera("back"));
  EXPECT_EQ(store_->users().front().name, "ann") << "by name";
  u->role = Role::kOperator;
  u->cameras = {"back"};
  store_->update_user(*u);
  EXPECT_EQ(store_->user(ann)->cameras, (std::vector<std::string>{"back"}));
  EXPECT_EQ(store_->user(ann)->role, Role::kOperator);

  SessionRow s{bytes(1), ann, kT0, kT0 + seconds(60), "10.0.0.7"};
  store_->add_session(s);
  store_->add_session(SessionRow{bytes(2), ann, kT0, kT0 + seconds(600), "10.0.0.7"});
  ASSERT_TRUE(store_->session(bytes(1)));
  EXPECT_EQ(store_->session(bytes(1))->address, "10.0.0.7");
  EXPECT_EQ(store_->delete_expired_sessions(kT0 + seconds(60)), 1);
  EXPECT_FALSE(store_->session(bytes(1)));

  ApiTokenRow t;
  t.user_id = ann;
  t.name = "till 1";
  t.created = kT0;
  t.scope = TokenScope::kTill;
  t.tills = {"t1", "t2"};
  const int64_t token = store_->add_token(bytes(3), t);
  store_->touch_token(token, kT0 + seconds(5));
  auto got = store_->token_by_hash(bytes(3));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, token);
  EXPECT_EQ(got->tills, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(got->last_used, kT0 + seconds(5));
  EXPECT_FALSE(got->expires);
  EXPECT_EQ(store_->tokens_of(ann).size(), 1u);

  // A user's sessions and tokens go with the user.
  EXPECT_TRUE(store_->delete_user(ann));
  EXPECT_FALSE(store_->delete_user(ann));
  EXPECT_FALSE(store_->session(bytes(2)));
  EXPECT_FALSE(store_->token(token));
  EXPECT_THROW(store_->update_user(*u), Error);
}

TEST_P(AccountStoreOn, SecondFactorStepsAndRecoveryCodesWorkOnce) {
  const int64_t id = store_->add_user(user("ann", Role::kViewer));
  EXPECT_TRUE(store_->begin_totp(id, bytes(7), kT0));
  EXPECT_TRUE(store_->begin_totp(id, bytes(8), kT0)) << "an unconfirmed one is replaced";
  EXPECT_EQ(store_->totp(id)->secret, bytes(8));
  EXPECT_TRUE(store_->confirm_totp(id, 100, {bytes(20), bytes(21)}));
  EXPECT_FALSE(store_->confirm_totp(id, 101, {}));
  EXPECT_FALSE(store_->begin_totp(id, bytes(9), kT0)) << "a confirmed one stays";
  const auto row = store_->totp(id);
  EXPECT_TRUE(row->confirmed);
  EXPECT_EQ(row->secret, bytes(8));
  EXPECT_EQ(row->last_step, 100);
  EXPECT_FALSE(store_->use_totp_step(id, 100)) << "replayed";
  EXPECT_TRUE(store_->use_totp_step(id, 101));
  EXPECT_EQ(store_->recovery_codes_left(id), 2);
  EXPECT_TRUE(store_->use_recovery_code(id, bytes(20)));
  EXPECT_FALSE(store_->use_recovery_code(id, bytes(20)));
  EXPECT_EQ(store_->recovery_codes_left(id), 1);
  store_->delete_totp(id);
  EXPECT_FALSE(store_->totp(id));
  EXPECT_EQ(store_->recovery_codes_left(id), 0);
}

TEST_P(AccountStoreOn, TheAuditLogIsOneChainAppendOnly) {
  // Two stores (two processes, or two nodes of a cluster) append from four threads at once.
  AccountStore other(location());
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      AccountStore& s = w % 2 ? other : *store_;
      for (int i = 0; i < 15; ++i) {
        AuditEntry e;
        e.at = kT0 + seconds(i);
        e.user_name = "writer" + std::to_string(w);
        e.address = "cli";
        e.action = i % 3 ? "login" : "export";
        if (i % 3 == 0) e.camera_id = "front";
        e.range_start = kT0;
        e.range_end = kT0 + seconds(1);
        e.detail = "entry " + std::to_string(i);
        s.append_audit(e);
      }
    });
  }
  for (auto& t : writers) t.join();
  auto conn = sql::open(location());
  const AuditChainReport report = walk_audit_chain(*conn);
  EXPECT_EQ(report.rows, 60);
  EXPECT_TRUE(report.ok()) << report.broken_rows << " broken";
  EXPECT_EQ(report.head, store_->audit_head());
  EXPECT_EQ(store_->audit_link_of(60), report.head);
  EXPECT_FALSE(store_->audit_link_of(61));

  // Pages, newest first by (time, id), with filters.
  AuditFilter f;
  f.action = "export";
  f.camera_id = "front";
  f.limit = 7;
  const auto page = store_->audit(f);
  ASSERT_EQ(page.size(), 7u);
  for (size_t i = 1; i < page.size(); ++i) {
    EXPECT_TRUE(page[i - 1].at > page[i].at ||
                (page[i - 1].at == page[i].at && page[i - 1].id > page[i].id));
  }
  f.before_id = page.back().id;
  f.limit = 100;
  EXPECT_EQ(store_->audit(f).size(), 20u - 7u);
  AuditFilter mine;
  mine.user_name = "writer3";
  mine.from = kT0 + seconds(10);
  EXPECT_EQ(store_->audit(mine).size(), 5u);
  EXPECT_EQ(store_->audit(mine).front().range_end, kT0 + seconds(1));

  // The database refuses to change or remove a row, whoever asks.
  try {
    conn->exec("UPDATE audit SET detail = 'nothing happened' WHERE id = 1");
    ADD_FAILURE() << "an audit row was changed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conn->exec("DELETE FROM audit WHERE id = 2"), Error);
  EXPECT_EQ(walk_audit_chain(*conn).rows, 60);
}

}  // namespace
}  // namespace vigil
