#include "app/user_commands.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "app/data_dir_lock.h"
#include "catalog/accounts.h"
#include "catalog/audit_syslog.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/error.h"
#include "serve/crypto.h"

namespace vigil {
namespace {

std::optional<std::string> read_password(const std::string& user) {
  auto read_line = [](std::string& out) { return static_cast<bool>(std::getline(std::cin, out)); };
  if (!::isatty(STDIN_FILENO)) {
    std::string pw;
    if (!read_line(pw)) {
      std::cerr << "vigil user: no password on stdin\n";
      return std::nullopt;
    }
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
  }
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string a, b;
  std::cerr << "password for " << user << ": " << std::flush;
  const bool ok_a = read_line(a);
  std::cerr << "\nagain: " << std::flush;
  const bool ok_b = read_line(b);
  std::cerr << "\n";
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  if (!ok_a || !ok_b) return std::nullopt;
  if (a != b) {
    std::cerr << "vigil user: the passwords differ\n";
    return std::nullopt;
  }
  return a;
}

// A password read and checked, hashed; nullopt (after saying why) when unusable.
std::optional<std::string> new_password_hash(const std::string& user) {
  const auto pw = read_password(user);
  if (!pw) return std::nullopt;
  if (const std::string p = password_problem(*pw); !p.empty()) {
    std::cerr << "vigil user: " << p << "\n";
    return std::nullopt;
  }
  return hash_password(*pw);
}

void audit(AccountStore& accounts, const std::string& action, const std::string& detail) {
  AuditEntry e;
  e.at = SystemClock().wall_now();
  e.address = "cli";
  e.action = action;
  e.detail = detail + " (vigil user, uid " + std::to_string(::getuid()) + ")";
  accounts.append_audit(e);
}

std::string catalog_location(const Config& config) {
  make_private_data_dir(config.data_dir);
  return config.catalog_location();
}

// Opens (creating and migrating if needed) the catalog, then the accounts in it.
struct Accounts {
  explicit Accounts(const Config& config)
      : catalog(catalog_location(config)), store(config.catalog_location()) {
    copy_audit_to_syslog(store, config.audit);
  }
  Catalog catalog;
  AccountStore store;
};

}  // namespace

int run_user_add(const Config& config, const std::string& name, const std::string& role_text,
                 const std::string& cameras_text) {
  const auto role = parse_role(role_text);
  if (!role) {
    std::cerr << "vigil user add: --role must be admin, operator or viewer\n";
    return 2;
  }
  if (!valid_user_name(name)) {
    std::cerr << "vigil user add: \"" << name
              << "\": use 1-64 characters of A-Z, a-z, 0-9, '.', '_', '@' or '-'\n";
    return 2;
  }
  User u;
  u.name = name;
  u.role = *role;
  // No implicit "every camera": a viewer or operator gets what is written, "*" included.
  if (*role != Role::kAdmin && cameras_text.empty()) {
    std::cerr << "vigil user add: --cameras: give the camera ids this user may see, or '*' for "
                 "every camera (also those added later)\n";
    return 2;
  }
  if (cameras_text == kAllCameras) {
    u.cameras = {kAllCameras};
  } else if (!cameras_text.empty()) {
    std::vector<std::string> cams;
    std::istringstream in(cameras_text);
    for (std::string c; std::getline(in, c, ',');) {
      if (c.empty()) continue;
      if (!config.find_camera(c)) {
        std::cerr << "vigil user add: --cameras: no camera \"" << c << "\" in "
                  << config.source.string() << "\n";
        return 2;
      }
      cams.push_back(c);
    }
    u.cameras = cams;
  }
  const auto hash = new_password_hash(name);
  if (!hash) return 2;
  u.password_hash = *hash;
  u.created = SystemClock().wall_now();
  Accounts a(config);
  try {
    a.store.add_user(u);
  } catch (const Error& e) {
    std::cerr << "vigil user add: " << e.what() << "\n";
    return e.code() == ErrorCode::kAlreadyExists ? 1 : 3;
  }
  audit(a.store, "user_add",
        "user " + name + " role=" + role_name(u.role) +
            " cameras=" + (u.sees_all_cameras() ? std::string("all") : cameras_text));
  std::cout << "added user " << name << " (" << role_name(u.role) << ")\n";
  return 0;
}

int run_user_list(const Config& config) {
  if (config.catalog_is_file() && !std::filesystem::exists(config.catalog_location())) {
    std::cout << "no users: no catalog at " << config.catalog_location() << "\n";
    return 0;
  }
  Accounts a(config);
  std::printf("%-24s %-9s %-24s %s\n", "NAME", "ROLE", "CREATED", "CAMERAS");
  for (const auto& u : a.store.users()) {
    std::string cams;
    for (const auto& c : u.cameras) cams += (cams.empty() ? "" : ",") + c;
    if (u.sees_all_cameras()) cams = "all";
    if (cams.empty()) cams = "none";
    std::printf("%-24s %-9s %-24s %s\n", u.name.c_str(), role_name(u.role),
                format_iso8601(u.created).c_str(), cams.c_str());
  }
  return 0;
}

int run_user_passwd(const Config& config, const std::string& name) {
  Accounts a(config);
  auto u = a.store.user_by_name(name);
  if (!u) {
    std::cerr << "vigil user passwd: no user \"" << name << "\"\n";
    return 1;
  }
  const auto hash = new_password_hash(name);
  if (!hash) return 2;
  u->password_hash = *hash;
  a.store.update_user(*u);
  a.store.delete_sessions_of(u->id);
  audit(a.store, "user_change", "user " + name + ": password");
  std::cout << "password of " << name << " changed; their sessions ended\n";
  return 0;
}

int run_user_remove(const Config& config, const std::string& name) {
  Accounts a(config);
  auto u = a.store.user_by_name(name);
  if (!u) {
    std::cerr << "vigil user remove: no user \"" << name << "\"\n";
    return 1;
  }
  a.store.delete_user(u->id);
  audit(a.store, "user_delete", "user " + name);
  std::cout << "removed user " << name << "\n";
  return 0;
}

}  // namespace vigil
