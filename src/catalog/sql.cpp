#include "catalog/sql.h"

#include "catalog/postgres.h"
#include "catalog/sqlite.h"
#include "core/error.h"

namespace vigil::sql {

bool is_postgres_url(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string redacted_url(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const size_t authority = scheme + 3;
  const size_t at = out.find('@', authority);
  const size_t slash = out.find('/', authority);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
  }
  const size_t password = out.find("password=");
  if (password != std::string::npos) {
    const size_t end = out.find('&', password);
    out.replace(password, (end == std::string::npos ? out.size() : end) - password, "password=…");
  }
  return out;
}

int64_t inserted_id(Statement& st) {
  if (!st.step()) throw Error(ErrorCode::kInternal, "INSERT returned no id");
  const int64_t id = st.int64("id");
  st.run();
  return id;
}

std::unique_ptr<Connection> open(const std::string& location) {
  if (!is_postgres_url(location)) return std::make_unique<SqliteConnection>(location);
#ifdef VIGIL_POSTGRES
  return std::make_unique<PgConnection>(location);
#else
  throw Error(ErrorCode::kFailedPrecondition,
              redacted_url(location) + ": this vigil was built without PostgreSQL");
#endif
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      conn_.rollback();
    } catch (...) {  // nothing more to do: the connection reports the error on next use
    }
  }
}

}  // namespace vigil::sql
