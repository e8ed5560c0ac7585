// A real PostgreSQL server for the catalog's tests on that engine (issue 20): Debian's initdb
// and pg_ctl (/usr/lib/postgresql/<version>/bin, from scripts/deps) make a cluster in a
// temporary directory that listens on a Unix socket there and on no TCP port at all. Started
// once per test binary, on first use, and stopped (pg_ctl stop: by the PID in its pid file) when
// the binary exits. Every test gets a database of its own. As root, the server runs as the
// `postgres` user (initdb refuses root); the tests connect over the socket as the cluster's
// superuser `vigil` without a password (trust, on that private socket only).
#pragma once

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "catalog/sql.h"

namespace vigil::test {

class PostgresServer {
 public:
  // The binary's server, started on first use. Fails the calling test (and returns an empty
  // URL from database()) when there is none to start: the PostgreSQL tests never skip.
  static PostgresServer& shared() {
    static PostgresServer server;
    return server;
  }

  // A new, empty database: its URL, or "" with a test failure added.
  std::string database() {
    std::lock_guard lock(mu_);
    if (!error_.empty()) {
      ADD_FAILURE() << error_;
      return "";
    }
    const std::string name = "t" + std::to_string(++databases_);
    sql::open(url("postgres"))->exec("CREATE DATABASE " + name);
    return url(name);
  }

  ~PostgresServer() {
    if (started_) run_as_owner("'" + bin_ + "/pg_ctl' stop -m immediate -s -D '" + data() + "'");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  PostgresServer() {
    bin_ = find_bin();
    if (bin_.empty()) {
      error_ = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (scripts/deps)";
      return;
    }
    char tmpl[] = "/tmp/vigil-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      error_ = "mkdtemp for PostgreSQL failed";
      return;
    }
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "running as root and there is no postgres user to run PostgreSQL as";
        return;
      }
      as_owner_ = "runuser -u postgres -- ";
    }
    const std::string initdb_log = (dir_ / "initdb.log").string();
    if (run_as_owner("'" + bin_ + "/initdb' -D '" + data() +
                     "' -U vigil --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >'" + initdb_log +
                     "' 2>&1") != 0) {
      error_ = "initdb failed: see " + initdb_log;
      return;
    }
    const std::string log = (dir_ / "server.log").string();
    // fsync off: a test's database never has to survive a power cut (the tests of vigil's own
    // crash safety run on SQLite, which is what they are about).
    if (run_as_owner("'" + bin_ + "/pg_ctl' start -w -s -D '" + data() + "' -l '" + log +
                     "' -o \"-k '" + dir_.string() +
                     "' -c listen_addresses= -p 5432 -c fsync=off -c full_page_writes=off\"") !=
        0) {
      error_ = "pg_ctl start failed: see " + log;
      return;
    }
    started_ = true;
  }

  static std::string find_bin() {
    std::string best;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      const auto bin = e.path() / "bin";
      if (std::filesystem::exists(bin / "initdb") && std::filesystem::exists(bin / "pg_ctl") &&
          (best.empty() || std::stoi(e.path().filename().string()) >
                               std::stoi(std::filesystem::path(best).parent_path().filename()))) {
        best = bin.string();
      }
    }
    return best;
  }

  std::string data() const { return (dir_ / "data").string(); }
  std::string url(const std::string& database) const {
    return "postgresql://vigil@/" + database + "?host=" + dir_.string() + "&port=5432";
  }
  int run_as_owner(const std::string& command) const {
    return std::system((as_owner_ + command).c_str());
  }

  std::mutex mu_;
  std::string bin_;
  std::filesystem::path dir_;
  std::string as_owner_;
  std::string error_;
  bool started_ = false;
  int databases_ = 0;
};

}  // namespace vigil::test
