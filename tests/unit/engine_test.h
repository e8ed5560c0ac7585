// Tests that hold for both catalog engines run on each (issue 20): a SQLite file in a temporary
// directory, and a database of its own on the tests' PostgreSQL server (postgres_server.h).
// A suite derives from EngineTest and is instantiated with VIGIL_ON_BOTH_ENGINES(suite); its
// tests are named Engines/<suite>.<test>/SQLite and .../PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "catalog/sql.h"
#include "postgres_server.h"
#include "test_support.h"

namespace vigil::test {

class EngineTest : public testing::TestWithParam<sql::Engine> {
 protected:
  void SetUp() override {
    location_ = GetParam() == sql::Engine::kPostgres ? PostgresServer::shared().database()
                                                     : (dir_.path() / "vigil.db").string();
    ASSERT_FALSE(location_.empty());
  }
  const std::string& location() const { return location_; }
  // Another catalog, as new.
  std::string fresh_location(int n) {
    return GetParam() == sql::Engine::kPostgres
               ? PostgresServer::shared().database()
               : (dir_.path() / ("vigil-" + std::to_string(n) + ".db")).string();
  }
  // The schema version both engines reach.
  static constexpr int kSchema = 15;
  TempDir dir_;  // the SQLite file, and the data directory `vigil check` walks

 private:
  std::string location_;
};

inline std::string engine_name(const testing::TestParamInfo<sql::Engine>& info) {
  return info.param == sql::Engine::kPostgres ? "PostgreSQL" : "SQLite";
}

}  // namespace vigil::test

// A build without PostgreSQL (scripts/cross-arm64: VIGIL_POSTGRES off) has SQLite only.
#ifdef VIGIL_POSTGRES
#define VIGIL_ENGINES testing::Values(vigil::sql::Engine::kSqlite, vigil::sql::Engine::kPostgres)
#else
#define VIGIL_ENGINES testing::Values(vigil::sql::Engine::kSqlite)
#endif
#define VIGIL_ON_BOTH_ENGINES(suite) \
  INSTANTIATE_TEST_SUITE_P(Engines, suite, VIGIL_ENGINES, vigil::test::engine_name)
