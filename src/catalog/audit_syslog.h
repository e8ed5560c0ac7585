// The syslog copy of the audit log ([audit] syslog = true): every audit row, once committed, is
// also sent as one line to the local syslog socket (/dev/log, which journald and rsyslog read),
// so that a log outside vigil.db holds what someone with write access to the database could
// remove. Sent as a datagram in the BSD syslog format (RFC 3164, what glibc's syslog(3) sends),
// facility authpriv, severity notice, tag "vigil". No library needed: journald takes these on
// /dev/log like any other syslog line.
// A socket that is missing or refuses a line never blocks or fails the audit write: the line is
// dropped, counted, and the first drop is logged.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include "catalog/accounts.h"
#include "core/config.h"

namespace vigil {

// The message part of a row's line: key=value pairs, strings quoted with \" \\ and control
// characters escaped, ending with the row's chain link in hex. Pure.
std::string audit_syslog_message(const AuditEntry& e, const Sha256& link);

class AuditSyslog {
 public:
  explicit AuditSyslog(std::filesystem::path socket = "/dev/log");
  // Sends one row. Thread-safe (one datagram per call, a socket per call).
  void send(const AuditEntry& e, const Sha256& link);
  uint64_t dropped() const { return dropped_.load(); }

 private:
  const std::filesystem::path socket_;
  std::atomic<uint64_t> dropped_{0};
};

// With `settings.syslog`, makes `store` send every row it appends to the syslog socket.
void copy_audit_to_syslog(AccountStore& store, const AuditSettings& settings);

}  // namespace vigil
