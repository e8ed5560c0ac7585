#include "catalog/audit_syslog.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "core/error.h"

namespace vigil {
namespace {

// RFC 3164 PRI: facility authpriv (10) * 8 + severity notice (5).
constexpr int kPri = 10 * 8 + 5;

void put_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

std::string hex(const Sha256& h) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const uint8_t b : h) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

std::string audit_syslog_message(const AuditEntry& e, const Sha256& link) {
  std::string m = "audit id=" + std::to_string(e.id) + " at=" + format_iso8601(e.at);
  m += " user=";
  put_quoted(m, e.user_name.value_or(""));
  m += " address=";
  put_quoted(m, e.address);
  m += " action=";
  put_quoted(m, e.action);
  if (e.camera_id) {
    m += " camera=";
    put_quoted(m, *e.camera_id);
  }
  if (e.range_start) m += " from=" + format_iso8601(*e.range_start);
  if (e.range_end) m += " to=" + format_iso8601(*e.range_end);
  m += " detail=";
  put_quoted(m, e.detail);
  m += " link=" + hex(link);
  return m;
}

AuditSyslog::AuditSyslog(std::filesystem::path socket) : socket_(std::move(socket)) {}

void AuditSyslog::send(const AuditEntry& e, const Sha256& link) {
  // "<PRI>Mmm dd hh:mm:ss vigil[pid]: message", the header glibc's syslog(3) writes.
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  const std::string line = "<" + std::to_string(kPri) + ">" + stamp + " vigil[" +
                           std::to_string(::getpid()) + "]: " + audit_syslog_message(e, link);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket_.string();
  std::string failure;
  if (path.size() >= sizeof addr.sun_path) {
    failure = "socket path too long";
  } else {
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      failure = "socket: " + errno_string(errno);
    } else {
      if (::sendto(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        failure = "send: " + errno_string(errno);
      }
      ::close(fd);
    }
  }
  if (!failure.empty() && dropped_.fetch_add(1) == 0) {
    spdlog::error("audit: the syslog copy to {} failed ({}); audit row {} is only in vigil.db "
                  "(later failures are counted, not logged)",
                  path, failure, e.id);
  }
}

void copy_audit_to_syslog(AccountStore& store, const AuditSettings& settings) {
  if (!settings.syslog) return;
  auto sink = std::make_shared<AuditSyslog>(settings.syslog_socket);
  store.set_audit_copy([sink](const AuditEntry& e, const Sha256& link) { sink->send(e, link); });
}

}  // namespace vigil
