// The audit log's hash chain (catalog/audit_chain.h): the canonical encoding byte for byte,
// appends from two stores at once forming one chain, the migration's back-fill, and the walk
// naming the first row that was modified, deleted or inserted behind vigil's back (triggers
// dropped, as someone with the sqlite3 shell would). Also the syslog copy's line, received on a
// real Unix datagram socket.
#include "catalog/audit_chain.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "catalog/audit_syslog.h"
#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "core/error.h"
#include "test_support.h"

namespace vigil {
namespace {

AuditEntry entry(int64_t at_ms, const std::string& action) {
  AuditEntry e;
  e.at = wall_from_ms(at_ms);
  e.user_name = "alice";
  e.address = "127.0.0.1";
  e.action = action;
  e.detail = "d";
  return e;
}

TEST(AuditChain, CanonicalEncodingIsTheDocumentedBytes) {
  AuditEntry e;
  e.id = 2;
  e.at = wall_from_ms(0x0102030405);
  e.user_name = "al";
  e.address = "a";
  e.action = "x";
  e.range_end = wall_from_ms(-1);
  e.detail = "";
  const std::vector<uint8_t> want = {
      0x01,                                            // version
      0, 0, 0, 0, 0, 0, 0, 2,                          // id
      0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05,           // at_ms
      1, 0, 0, 0, 2, 'a', 'l',                         // user_name present
      0, 0, 0, 1, 'a',                                 // address
      0, 0, 0, 1, 'x',                                 // action
      0,                                               // no camera
      0,                                               // no range start
      1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // range end -1
      0, 0, 0, 0,                                      // empty detail
  };
  EXPECT_EQ(audit_canonical(e), want);
  // link = SHA-256(prev || canonical), computed here independently.
  Sha256 prev{};
  prev[0] = 7;
  std::vector<uint8_t> buf(prev.begin(), prev.end());
  buf.insert(buf.end(), want.begin(), want.end());
  Sha256 expect{};
  SHA256(buf.data(), buf.size(), expect.data());
  EXPECT_EQ(audit_link(prev, e), expect);
}

class AuditStoreTest : public ::testing::Test {
 protected:
  AuditStoreTest() : catalog_(dir_.path() / "vigil.db") {}
  std::filesystem::path db() const { return dir_.path() / "vigil.db"; }
  AuditChainReport walk() {
    sql::SqliteConnection c(db().string());
    return walk_audit_chain(c);
  }
  // What someone with the sqlite3 shell does first.
  void drop_triggers(sql::Connection& c) {
    c.exec("DROP TRIGGER audit_no_update");
    c.exec("DROP TRIGGER audit_no_delete");
  }
  test::TempDir dir_;
  Catalog catalog_;
};

TEST_F(AuditStoreTest, AppendsLinkEveryRowAndTheHeadIsTheLastLink) {
  AccountStore store(db());
  EXPECT_EQ(store.audit_head(), Sha256{});
  Sha256 link{};
  for (int i = 0; i < 5; ++i) {
    AuditEntry e = entry(1000 + i, "login");
    e.id = store.append_audit(e);
    EXPECT_EQ(e.id, i + 1);
    link = audit_link(link, e);
  }
  EXPECT_EQ(store.audit_head(), link);
  const AuditChainReport r = walk();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.rows, 5);
  EXPECT_EQ(r.head, link);
}

TEST_F(AuditStoreTest, TwoStoresAppendingAtOnceFormOneChain) {
  // Two connections, as `vigil user add` beside `vigil serve`: the write transaction around
  // "read the head, insert the next row" keeps the chain from forking.
  AccountStore a(db());
  AccountStore b(db());
  auto writer = [](AccountStore& s, const char* action) {
    for (int i = 0; i < 200; ++i) s.append_audit(entry(5000 + i, action));
  };
  std::thread ta(writer, std::ref(a), "a");
  std::thread tb(writer, std::ref(b), "b");
  ta.join();
  tb.join();
  const AuditChainReport r = walk();
  EXPECT_EQ(r.rows, 400);
  EXPECT_TRUE(r.ok()) << r.broken_rows << " broken";
  EXPECT_EQ(r.head, a.audit_head());
}

TEST_F(AuditStoreTest, TheLogStaysAppendOnlyWhileTheTriggersAreThere) {
  AccountStore store(db());
  store.append_audit(entry(1, "login"));
  sql::SqliteConnection c(db().string());
  EXPECT_THROW(c.exec("UPDATE audit SET detail = 'x'"), Error);
  EXPECT_THROW(c.exec("DELETE FROM audit"), Error);
}

TEST_F(AuditStoreTest, AModifiedRowIsNamed) {
  AccountStore store(db());
  for (int i = 0; i < 6; ++i) store.append_audit(entry(1000 + i, "action" + std::to_string(i)));
  sql::SqliteConnection c(db().string());
  drop_triggers(c);
  c.exec("UPDATE audit SET user_name = 'mallory' WHERE id = 3");
  const AuditChainReport r = walk();
  ASSERT_TRUE(r.first_break);
  EXPECT_EQ(r.first_break->kind, AuditBreak::Kind::kModified);
  EXPECT_EQ(r.first_break->row.id, 3);
  EXPECT_EQ(r.first_break->row.action, "action2");
  EXPECT_EQ(r.broken_rows, 1);  // the rows after it follow from its stored link
}

TEST_F(AuditStoreTest, ADeletedRowIsNamedByTheRowAfterIt) {
  AccountStore store(db());
  for (int i = 0; i < 6; ++i) store.append_audit(entry(1000 + i, "action" + std::to_string(i)));
  sql::SqliteConnection c(db().string());
  drop_triggers(c);
  c.exec("DELETE FROM audit WHERE id = 4");
  const AuditChainReport r = walk();
  ASSERT_TRUE(r.first_break);
  EXPECT_EQ(r.first_break->kind, AuditBreak::Kind::kDeleted);
  EXPECT_EQ(r.first_break->row.id, 5);
  EXPECT_EQ(r.first_break->previous_id, 3);
}

TEST_F(AuditStoreTest, AnInsertedRowIsNamedEvenWithALinkCopiedFromAnother) {
  AccountStore store(db());
  for (int i = 0; i < 6; ++i) store.append_audit(entry(1000 + i, "action" + std::to_string(i)));
  sql::SqliteConnection c(db().string());
  drop_triggers(c);
  // Make room for a row between 2 and 3 (ids moved up by one), then slip one in with row 2's
  // link.
  c.exec("UPDATE audit SET id = id + 100 WHERE id >= 3");
  c.exec("UPDATE audit SET id = id - 99 WHERE id >= 100");
  c.exec("INSERT INTO audit (id, at_ms, address, action, detail, link) "
         "SELECT 3, 1001, 'x', 'forged', '', link FROM audit WHERE id = 2");
  const AuditChainReport r = walk();
  ASSERT_TRUE(r.first_break);
  EXPECT_EQ(r.first_break->kind, AuditBreak::Kind::kInserted);
  EXPECT_EQ(r.first_break->row.action, "forged");
  EXPECT_EQ(r.first_break->row.id, 3);
}

TEST_F(AuditStoreTest, ARowWithoutALinkIsNamed) {
  AccountStore store(db());
  for (int i = 0; i < 3; ++i) store.append_audit(entry(1000 + i, "action" + std::to_string(i)));
  sql::SqliteConnection c(db().string());
  c.exec("INSERT INTO audit (at_ms, address, action, detail) VALUES (5, 'x', 'sneaky', '')");
  const AuditChainReport r = walk();
  ASSERT_TRUE(r.first_break);
  EXPECT_EQ(r.first_break->kind, AuditBreak::Kind::kUnlinked);
  EXPECT_EQ(r.first_break->row.action, "sneaky");
}

TEST(AuditChainMigration, BackFillsRowsWrittenBeforeIt) {
  test::TempDir dir;
  const auto file = dir.path() / "vigil.db";
  {
    // A catalog as migration 6 left it, with audit rows and no links.
    { Catalog full(file); }
    sql::SqliteConnection c(file.string());
    c.exec(test::kUndoArchive);
    c.exec(test::kUndoSecondFactor);
    c.exec(test::kUndoTransactions);
    c.exec(test::kUndoTokenScopes);
    c.exec(test::kUndoHoldsAndAuditChain);
    c.exec("PRAGMA user_version = 6");
    c.exec("INSERT INTO audit (at_ms, user_name, address, action, detail) VALUES "
           "(1, 'a', 'cli', 'user_add', 'x'), (2, NULL, '10.0.0.1', 'login_failed', '')");
  }
  Catalog migrated(file);
  EXPECT_GE(migrated.schema_version(), 7);
  sql::SqliteConnection c(file.string());
  const AuditChainReport r = walk_audit_chain(c);
  EXPECT_EQ(r.rows, 2);
  EXPECT_TRUE(r.ok());
  // The trigger is back.
  EXPECT_THROW(c.exec("UPDATE audit SET detail = 'y'"), Error);
  AccountStore store(file);
  EXPECT_EQ(store.audit_head(), r.head);
  store.append_audit(entry(3, "login"));
  EXPECT_TRUE(walk_audit_chain(c).ok());
}

TEST(AuditSyslog, SendsEachRowAsASyslogLineToTheSocket) {
  test::TempDir dir;
  const auto path = dir.path() / "log.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Catalog catalog(dir.path() / "vigil.db");
  AccountStore store(dir.path() / "vigil.db");
  copy_audit_to_syslog(store, AuditSettings{true, path});
  AuditEntry e = entry(1'790'000'000'000, "hold_add");
  e.camera_id = "door";
  e.detail = "say \"hi\"\nnext";
  store.append_audit(e);
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  const std::string line(buf, static_cast<size_t>(n));
  EXPECT_EQ(line.rfind("<85>", 0), 0u) << line;  // authpriv.notice
  EXPECT_NE(line.find(" vigil[" + std::to_string(::getpid()) + "]: audit id=1 "), std::string::npos)
      << line;
  EXPECT_NE(line.find("action=\"hold_add\" camera=\"door\""), std::string::npos) << line;
  EXPECT_NE(line.find("detail=\"say \\\"hi\\\"\\x0anext\""), std::string::npos) << line;
  e.id = 1;
  const Sha256 link = audit_link(Sha256{}, e);
  std::string hex;
  for (const uint8_t b : link) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  EXPECT_NE(line.find(" link=" + hex), std::string::npos) << line;
}

TEST(AuditSyslog, AMissingSocketNeverFailsTheAuditWrite) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  AccountStore store(dir.path() / "vigil.db");
  AuditSyslog sink(dir.path() / "nobody-listens");
  store.set_audit_copy([&sink](const AuditEntry& e, const Sha256& l) { sink.send(e, l); });
  EXPECT_EQ(store.append_audit(entry(1, "login")), 1);
  EXPECT_EQ(sink.dropped(), 1u);
}

}  // namespace
}  // namespace vigil
