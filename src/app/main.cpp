// vigil: one binary, subcommands serve / check / status / user. Exit codes: 0 ok, 1 the command
// found a problem (check mismatches, status stale, user exists), 2 bad usage or configuration,
// 3 runtime failure.
#include <signal.h>
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

extern "C" {
#include <libavutil/log.h>
}

#include "app/data_dir_lock.h"
#include "app/recorder_service.h"
#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "core/error.h"
#include "core/redact.h"
#include "record/recovery.h"
#include "serve/api.h"
#include "serve/crypto.h"
#include "serve/http_server.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil {
namespace {

// FFmpeg logs through one process-wide callback; route errors to our log, passwords masked.
void ffmpeg_log(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_ERROR) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  std::string s = redact_all_urls(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (!s.empty()) spdlog::debug("ffmpeg: {}", s);
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("vigil");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  av_log_set_callback(&ffmpeg_log);
}

int run_serve(const Config& config) {
  std::filesystem::create_directories(config.data_dir);
  DataDirLock lock(config.data_dir);
  if (!lock.acquired()) {
    std::cerr << "vigil: " << config.data_dir.string()
              << " is in use by another vigil (vigil.lock is held)\n";
    return 3;
  }
  // Signals are taken synchronously by this thread (sigwait); block them before any thread
  // starts so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  SystemClock clock;
  RecorderService service(config, clock);
  spdlog::info("vigil {} recording {} camera(s) into {}", VIGIL_VERSION, config.cameras.size(),
               (config.data_dir / "recordings").string());
  for (const auto& c : config.cameras) {
    spdlog::info("camera {} ({}): {}{}", c.id, c.name, redact_url(c.url),
                 c.enabled ? "" : " [disabled]");
  }
  // The web server: after recovery (the catalog is consistent), before recording starts.
  std::unique_ptr<AccountStore> accounts;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  if (config.http.enabled) {
    accounts = std::make_unique<AccountStore>(config.data_dir / "vigil.db");
    api = std::make_unique<Api>(config, *accounts, clock, [&service] {
      return nlohmann::json::parse(service.status_json());
    });
    http = std::make_unique<HttpServer>(
        config.http, [&api](const http::Request& r) { return api->handle(r); },
        [&api](const std::string& method, std::string_view path) {
          return api->body_limit_for(method, path);
        });
    http->start();
    spdlog::info("web interface: open {} in a browser", http->url());
    if (auto token = api->setup_token()) {
      // Printed once per start while no user exists; whoever reads this log may create the first
      // admin, which is why it is only in the log and never served.
      spdlog::warn("no users yet: create the first admin at {}api/setup with setup token {} "
                   "(or run `vigil user add NAME --role admin`)",
                   http->url(), *token);
    }
  }
  service.start();
  for (;;) {
    timespec ts{2, 0};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {}: stopping", sig);
      break;
    }
    service.write_status_file();
  }
  if (http) http->stop();
  service.stop();
  service.write_status_file();
  spdlog::info("stopped; every open segment was closed");
  return 0;
}

int run_check(const Config& config, bool repair, bool hashes) {
  if (!std::filesystem::exists(config.data_dir / "vigil.db")) {
    std::cout << "no catalog at " << (config.data_dir / "vigil.db").string()
              << ": nothing recorded yet\n";
    return 0;
  }
  DataDirLock lock(config.data_dir);
  if (repair && !lock.acquired()) {
    std::cerr << "vigil check: vigil serve is running on " << config.data_dir.string()
              << "; stop it before --repair\n";
    return 3;
  }
  Catalog catalog(config.data_dir / "vigil.db");
  CheckOptions opt;
  opt.repair = repair;
  opt.verify_hashes = hashes;
  opt.include_open = lock.acquired();
  const CheckReport r = check_catalog(catalog, config.data_dir, opt);
  int unrepaired = 0;
  for (const auto& i : r.issues) {
    std::cout << (i.repaired ? "repaired: " : "mismatch: ") << i.path << ": " << i.problem << "\n";
    unrepaired += i.repaired ? 0 : 1;
  }
  std::cout << "checked " << r.segments << " segment(s) and " << r.files << " file(s): "
            << r.mismatches() << " mismatch(es)";
  if (repair) std::cout << ", " << (r.mismatches() - unrepaired) << " repaired";
  if (!lock.acquired()) std::cout << " (vigil serve is running: open segments not judged)";
  std::cout << "\n";
  return unrepaired ? 1 : 0;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

int run_status(const Config& config, bool as_json) {
  const auto file = config.data_dir / "status.json";
  std::ifstream in(file);
  if (!in) {
    std::cout << "no status yet: vigil serve has not run on " << config.data_dir.string() << "\n";
    return 1;
  }
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    std::cerr << file.string() << ": unreadable status: " << e.what() << "\n";
    return 3;
  }
  const int64_t age_ms =
      ms_since_epoch(SystemClock().wall_now()) - j.value("updated_at_ms", int64_t{0});
  const bool stale = age_ms > 10'000;
  if (as_json) {
    j["stale"] = stale;
    std::cout << j.dump(2) << "\n";
    return stale ? 1 : 0;
  }
  if (stale) {
    std::cout << "vigil serve is not running (last status " << j.value("updated_at", "?")
              << ")\n";
  }
  std::printf("%-16s %-10s %6s %10s %-14s %10s %11s  %s\n", "CAMERA", "STATE", "FPS", "BITRATE",
              "VIDEO", "RECONNECTS", "STORED", "LAST ERROR");
  for (const auto& c : j["cameras"]) {
    char video[32];
    std::snprintf(video, sizeof video, "%s %dx%d", c.value("video_codec", "").c_str(),
                  c.value("width", 0), c.value("height", 0));
    std::string err = c.value("last_error", "");
    if (!c.value("record_error", "").empty()) err = "recording: " + c.value("record_error", "");
    std::printf("%-16s %-10s %6.1f %7.0f kb/s %-14s %10lld %11s  %s\n",
                c.value("id", "").c_str(), stale ? "unknown" : c.value("state", "").c_str(),
                c.value("fps", 0.0), c.value("bitrate_bps", 0.0) / 1000, video,
                static_cast<long long>(c.value("reconnects", 0)),
                human_bytes(c.value("stored_bytes", 0.0)).c_str(), err.c_str());
  }
  if (j.contains("disk_free_bytes")) {
    std::cout << "disk free: " << human_bytes(j["disk_free_bytes"].get<double>()) << "\n";
  }
  return stale ? 1 : 0;
}

// A password from the terminal (twice, without echo) or, when stdin is not a terminal, its first
// line, so scripts can pipe one in.
std::optional<std::string> read_password(const std::string& user) {
  auto read_line = [](std::string& out) { return static_cast<bool>(std::getline(std::cin, out)); };
  if (!::isatty(STDIN_FILENO)) {
    std::string pw;
    if (!read_line(pw)) return std::nullopt;
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
    std::cerr << "vigil user add: the passwords differ\n";
    return std::nullopt;
  }
  return a;
}

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
  if (!cameras_text.empty()) {
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
  const auto pw = read_password(name);
  if (!pw) return 2;
  if (pw->size() < 8 || pw->size() > 1024) {
    std::cerr << "vigil user add: a password needs 8 to 1024 characters\n";
    return 2;
  }
  u.password_hash = hash_password(*pw);
  u.created = SystemClock().wall_now();
  std::filesystem::create_directories(config.data_dir);
  Catalog catalog(config.data_dir / "vigil.db");  // creates and migrates the catalog if needed
  AccountStore accounts(config.data_dir / "vigil.db");
  try {
    accounts.add_user(u);
  } catch (const Error& e) {
    std::cerr << "vigil user add: " << e.what() << "\n";
    return e.code() == ErrorCode::kAlreadyExists ? 1 : 3;
  }
  AuditEntry e;
  e.at = u.created;
  e.address = "cli";
  e.action = "user_add";
  e.detail = "user " + name + " role=" + role_name(u.role) + " cameras=" +
             (cameras_text.empty() ? "all" : cameras_text) + " (vigil user add, uid " +
             std::to_string(::getuid()) + ")";
  accounts.append_audit(e);
  std::cout << "added user " << name << " (" << role_name(u.role) << ")\n";
  return 0;
}

int run_user_list(const Config& config) {
  if (!std::filesystem::exists(config.data_dir / "vigil.db")) {
    std::cout << "no users: no catalog at " << (config.data_dir / "vigil.db").string() << "\n";
    return 0;
  }
  Catalog catalog(config.data_dir / "vigil.db");
  AccountStore accounts(config.data_dir / "vigil.db");
  std::printf("%-24s %-9s %-24s %s\n", "NAME", "ROLE", "CREATED", "CAMERAS");
  for (const auto& u : accounts.users()) {
    std::string cams = "all";
    if (u.cameras) {
      cams.clear();
      for (const auto& c : *u.cameras) cams += (cams.empty() ? "" : ",") + c;
      if (cams.empty()) cams = "none";
    }
    std::printf("%-24s %-9s %-24s %s\n", u.name.c_str(), role_name(u.role),
                format_iso8601(u.created).c_str(), cams.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  using namespace vigil;
  CLI::App app{"vigil — a CCTV recorder: records IP cameras around the clock, crash-safe"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  std::string config_file = "vigil.toml";
  std::string log_level = "info";
  app.add_option("-c,--config", config_file, "configuration file (TOML)")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

  auto* serve = app.add_subcommand("serve", "record every configured camera until stopped");
  bool repair = false;
  bool hashes = false;
  auto* check = app.add_subcommand("check", "verify that the catalog and the files agree");
  check->add_flag("--repair", repair, "fix what can be fixed (vigil serve must be stopped)");
  check->add_flag("--hash", hashes, "also verify every file's SHA-256 (reads everything)");
  bool as_json = false;
  auto* status = app.add_subcommand("status", "per-camera health of the running vigil serve");
  status->add_flag("--json", as_json, "print the raw status as JSON");
  auto* user = app.add_subcommand("user", "manage the people who may use the web interface");
  user->require_subcommand(1);
  std::string user_name;
  std::string user_role;
  std::string user_cameras;
  auto* user_add = user->add_subcommand(
      "add", "add a user; the password is read from the terminal or the first line of stdin");
  user_add->add_option("name", user_name, "user name")->required();
  user_add->add_option("--role", user_role, "admin, operator or viewer")->required();
  user_add->add_option("--cameras", user_cameras,
                       "comma-separated camera ids this user may see (default: all)");
  auto* user_list = user->add_subcommand("list", "list users");

  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) {
    std::cerr << "vigil: libsodium failed to initialize\n";
    return 3;
  }
  setup_logging(log_level);
  Config config;
  try {
    config = load_config(config_file);
  } catch (const Error& e) {
    std::cerr << "vigil: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  try {
    if (*serve) return run_serve(config);
    if (*check) return run_check(config, repair, hashes);
    if (*status) return run_status(config, as_json);
    if (*user_add) return run_user_add(config, user_name, user_role, user_cameras);
    if (*user_list) return run_user_list(config);
  } catch (const Error& e) {
    spdlog::critical("{}", e.what());
    return 3;
  } catch (const std::exception& e) {
    spdlog::critical("unexpected: {}", e.what());
    return 3;
  }
  return 0;
}
