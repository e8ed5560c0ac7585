// The PostgreSQL engine's own parts (catalog/postgres.h): named parameters made positional,
// values and results through libpq, errors that say where, and a connection that comes back
// after the server restarted. The catalog itself runs on it in catalog_test.cpp.
#include "catalog/postgres.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "postgres_server.h"

namespace vigil::sql {
namespace {

TEST(PositionalParameters, NamesBecomeNumbersOncePerName) {
  const PositionalSql p = positional_parameters(
      "SELECT a FROM t WHERE c = :camera AND s >= :from - COALESCE((SELECT ms FROM g WHERE "
      "camera_id = :camera), 0) AND x = :from_lo");
  EXPECT_EQ(p.text,
            "SELECT a FROM t WHERE c = $1 AND s >= $2 - COALESCE((SELECT ms FROM g WHERE "
            "camera_id = $1), 0) AND x = $3");
  EXPECT_EQ(p.names, (std::vector<std::string>{":camera", ":from", ":from_lo"}));
}

TEST(PositionalParameters, QuotesCommentsCastsAndTimesAreLeftAlone) {
  const PositionalSql p = positional_parameters(
      "SELECT ':not' AS \"col:x\", 'it''s :no' , v::bigint, '12:30' -- :none\n, :yes, $$ :body $$");
  EXPECT_EQ(
      p.text,
      "SELECT ':not' AS \"col:x\", 'it''s :no' , v::bigint, '12:30' -- :none\n, $1, $$ :body $$");
  EXPECT_EQ(p.names, (std::vector<std::string>{":yes"}));
  EXPECT_TRUE(positional_parameters("a := 1").names.empty());
  EXPECT_TRUE(positional_parameters("trailing :").names.empty());
  EXPECT_TRUE(positional_parameters("'unterminated :x").names.empty());
}

TEST(RedactedUrl, PasswordsNeverReachAMessage) {
  EXPECT_EQ(redacted_url("postgresql://vigil:s3cret@db.example:5433/vigil"),
            "postgresql://vigil@db.example:5433/vigil");
  EXPECT_EQ(redacted_url("postgresql://vigil@db/vigil?password=s3cret&sslmode=require"),
            "postgresql://vigil@db/vigil?password=…&sslmode=require");
  EXPECT_EQ(redacted_url("postgresql:///vigil?host=/run/postgresql"),
            "postgresql:///vigil?host=/run/postgresql");
}

TEST(PgConnection, ValuesGoAndComeBackAsTheyWere) {
  PgConnection c(test::PostgresServer::shared().database());
  c.exec("CREATE TABLE t (i BIGINT, s TEXT, b BYTEA, r DOUBLE PRECISION)");
  std::vector<uint8_t> blob;
  for (int i = 0; i < 256; ++i) blob.push_back(static_cast<uint8_t>(i));
  c.prepare("INSERT INTO t VALUES (:i, :s, :b, :r)")
      .bind(":i", INT64_MIN)
      .bind(":s", std::string("'; DROP TABLE t; --\n\xc3\xbc"))
      .bind(":b", blob)
      .bind_real(":r", 0.1)
      .run();
  EXPECT_EQ(c.changes(), 1);
  c.prepare("INSERT INTO t VALUES (:i, :s, :b, :r)").bind(":i", INT64_MAX).run();  // NULLs
  auto st =
      c.prepare("SELECT i, s, b, r, i > 0 AS positive, SUM(i) OVER () AS total FROM t ORDER BY i");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64("i"), INT64_MIN);
  EXPECT_EQ(st.text("s"), "'; DROP TABLE t; --\n\xc3\xbc");
  EXPECT_EQ(st.blob("b"), blob);
  EXPECT_EQ(st.real("r"), 0.1);
  EXPECT_EQ(st.int64("positive"), 0);
  EXPECT_EQ(st.int64("total"), -1);  // a numeric
  ASSERT_TRUE(st.step());
  EXPECT_TRUE(st.is_null("s"));
  EXPECT_TRUE(st.blob("b").empty());
  EXPECT_EQ(st.int64("positive"), 1);
  EXPECT_FALSE(st.step());
  EXPECT_THROW(st.reset().bind(":none", int64_t{1}), Error);
  try {
    c.prepare("SELECT nothing FROM t").run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("column \"nothing\" does not exist"), std::string::npos)
        << e.what();
  }
  c.exec("CREATE UNIQUE INDEX t_i ON t (i)");
  try {
    c.prepare("INSERT INTO t (i) VALUES (:i)").bind(":i", INT64_MAX).run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists) << e.what();
  }
}

TEST(PgConnection, AnUnreachableServerSaysWhereWithoutThePassword) {
  try {
    PgConnection c("postgresql://vigil:s3cret@127.0.0.1:1/vigil?connect_timeout=2");
    ADD_FAILURE() << "connected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    const std::string what = e.what();
    EXPECT_NE(what.find("postgresql://vigil@127.0.0.1:1/vigil"), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  }
}

// A connection the server dropped (restart, failover, idle timeout) fails the statement that
// finds out, as unavailable, and the next one runs on a new connection.
TEST(PgConnection, ADroppedConnectionIsMadeAgain) {
  const std::string url = test::PostgresServer::shared().database();
  PgConnection c(url);
  c.set_read_only();  // a catalog's reader: it must stay one on the new session
  PgConnection admin(url);
  admin.exec("CREATE TABLE t (i BIGINT)");
  auto pid = c.prepare("SELECT pg_backend_pid() AS pid");
  ASSERT_TRUE(pid.step());
  admin.prepare("SELECT pg_terminate_backend(CAST(:pid AS INTEGER)) AS done")
      .bind(":pid", pid.int64("pid"))
      .run();
  try {
    c.exec("SELECT 1");
    ADD_FAILURE() << "the dropped connection answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
  }
  auto again = c.prepare("SELECT 2 AS two");
  ASSERT_TRUE(again.step());
  EXPECT_EQ(again.int64("two"), 2);
  EXPECT_THROW(c.exec("INSERT INTO t VALUES (1)"), Error);
  admin.exec("INSERT INTO t VALUES (1)");
}

}  // namespace
}  // namespace vigil::sql
