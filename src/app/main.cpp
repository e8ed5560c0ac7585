// vigil: one binary, subcommands serve / check / status / user. Exit codes: 0 ok, 1 the command
// found a problem (check mismatches, status stale, user exists), 2 bad usage or configuration,
// 3 runtime failure.
#include <signal.h>
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

extern "C" {
#include <libavutil/log.h>
}

#include "app/data_dir_lock.h"
#include "app/discover_command.h"
#include "app/export_command.h"
#include "app/recorder_service.h"
#include "app/service_manager.h"
#include "app/setup_link.h"
#include "app/user_commands.h"
#include "catalog/accounts.h"
#include "catalog/audit_chain.h"
#include "catalog/audit_syslog.h"
#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "catalog/event_store.h"
#include "core/config_store.h"
#include "core/error.h"
#include "core/redact.h"
#include "core/supervision.h"
#include "core/text.h"
#include "integrity/file_hash.h"
#include "integrity/verify.h"
#include "integrity/key_store.h"
#include "record/recovery.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "transactions/exception_rules.h"
#include "transactions/printer_tap.h"
#include "transactions/receipt_parser.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif
#ifndef VIGIL_CONFIG_FILE
#define VIGIL_CONFIG_FILE "vigil.toml"
#endif

namespace vigil {
namespace {

// FFmpeg logs through one process-wide callback; route errors to our log, passwords masked.
void ffmpeg_log(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_ERROR) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  // Its lines quote what cameras sent (reason phrases, URLs): cleaned like all network text.
  const std::string s = clean_text(redact_all_urls(line), sizeof line);
  if (!s.empty()) spdlog::debug("ffmpeg: {}", s);
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("vigil");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  av_log_set_callback(&ffmpeg_log);
}

// A till's receipt-printer tap: its receipts are stored (and judged by the rules) like posted
// transactions. A tap that cannot listen is reported and left off: the till's receipts still
// print (nothing is in between yet), and recording must not wait for a till.
std::unique_ptr<transactions::PrinterTap> start_printer_tap(const TillConfig& till, Api& api,
                                                            const Clock& clock) {
  transactions::ReceiptPatternStrings strings = transactions::default_receipt_patterns();
  strings.total = till.total_pattern;
  strings.refund = till.refund_pattern;
  strings.void_ = till.void_pattern;
  strings.qr = till.qr_pattern;
  strings.card = till.card_pattern;
  strings.cash = till.cash_pattern;
  transactions::CompiledPatterns compiled = transactions::compile_receipt_patterns(strings);
  if (!compiled.patterns) {
    spdlog::error("till {}: printer tap off: {}", till.id, compiled.error);
    return nullptr;
  }
  transactions::PrinterTapOptions options;
  options.till_id = till.id;
  options.listen = till.printer_listen;
  options.forward = till.printer_forward;
  // Validated with the configuration: one of the names printer_language_from() knows.
  options.language = transactions::printer_language_from(till.printer_language)
                         .value_or(transactions::PrinterLanguage::kEscPos);
  auto tap = std::make_unique<transactions::PrinterTap>(
      options, std::move(*compiled.patterns),
      [&api, id = till.id](const transactions::PrintedReceipt& r) {
        try {
          api.transactions().store_printed(r);
        } catch (const std::exception& e) {
          spdlog::error("till {}: a printed receipt was not stored: {}", id, e.what());
        }
      },
      clock);
  try {
    tap->start();
  } catch (const std::exception& e) {
    spdlog::error("till {}: printer tap off: {}", till.id, e.what());
    return nullptr;
  }
  spdlog::info("till {}: printer tap listening on {}{}", till.id, till.printer_listen,
               till.printer_forward.empty() ? "" : ", forwarding to " + till.printer_forward);
  return tap;
}

int run_serve(ConfigStore& configs) {
  const Config& config = *configs.current();  // the start configuration (fixed parts)
  make_private_data_dir(config.data_dir);
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
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  SystemClock clock;
  // Where every supervised thread reports its failures (status.json, the API, /metrics).
  ComponentRegistry components(clock);
  // Made once the service has brought the catalog up to date; declared first so that it outlives
  // the service, whose recorders sign checkpoints with its audit head until they stop.
  std::unique_ptr<AccountStore> accounts;
  RecorderService service(config, clock, components);
  // Camera changes (API or SIGHUP) reach the recorder once they are written to the file.
  configs.subscribe([&service](const Config&, const Config& next) { service.apply(next); });
  spdlog::info("vigil {} recording {} camera(s) into {}", VIGIL_VERSION, config.cameras.size(),
               (config.data_dir / "recordings").string());
  for (const auto& c : config.cameras) {
    // The name is free text (an admin may type anything through the API): one clean log line.
    spdlog::info("camera {} ({}): {}{}", c.id, clean_text(c.name), clean_text(redact_url(c.url)),
                 c.enabled ? "" : " [disabled]");
  }
  // The audit log: its chain head goes into every signed checkpoint of the recordings, so that
  // a checkpoint also vouches for the audit log as it stood (docs/design/integrity.md).
  accounts = std::make_unique<AccountStore>(config.catalog_location());
  copy_audit_to_syslog(*accounts, config.audit);
  service.set_audit_head([store = accounts.get()] { return store->audit_head(); });
  // The web server: after recovery (the catalog is consistent), before recording starts.
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<EventStore> motion_events;  // read by till_rules' customer-zone rule
  std::unique_ptr<transactions::ExceptionRules> till_rules;
  // Receipt-printer taps (`printer_listen`): declared after what their receipts are stored
  // through, so they stop first.
  std::vector<std::unique_ptr<transactions::PrinterTap>> printer_taps;
  // Opening hours are local time, like schedules; the zone as at start.
  const TimeZone till_zone =
      config.events.time_zone.empty() ? TimeZone() : TimeZone(config.events.time_zone);
  if (config.http.enabled) {
    api = std::make_unique<Api>(
        configs, *accounts, clock,
        [&service] { return nlohmann::json::parse(service.status_json()); }, &components);
    api->set_live([&service](const std::string& id) { return service.live_hub(id); });
    api->set_open_segments(service.open_segments());
    api->set_disk_relief([&service] { return service.release_space_reserve(); });
    // Tills' exceptions become events of type "transaction" on the tills' cameras.
    // The customer-zone rule reads the motion events the analysers stored, on a connection of
    // its own (the sweep runs on its own thread).
    motion_events = std::make_unique<EventStore>(config.catalog_location());
    till_rules = std::make_unique<transactions::ExceptionRules>(
        api->transactions().store(),
        [&service](const std::string& camera, WallTime at, const std::string& reason) {
          service.raise_event(camera, "transaction", at, reason);
        },
        clock.wall_now(),
        [&motion_events](const std::string& camera, const std::string& zone, WallTime from,
                         WallTime to) {
          EventFilter f;
          f.cameras = std::vector<std::string>{camera};
          f.type = "motion";
          f.zone = zone;
          f.from = from;
          f.to = to + WallDuration(1);  // find() takes [from, to): the window's end counts
          f.limit = 1;
          return !motion_events->find(f).empty();
        });
    till_rules->start([&configs] { return configs.current(); }, clock, &components);
    // Transactions follow their tills' footage: after each retention pass, those older than the
    // oldest footage of every camera of their till go, unless a hold covers their moment on
    // one of those cameras. A till whose cameras have no footage at all keeps its transactions
    // (nothing recorded yet is not footage deleted).
    service.set_follow_footage([&configs, &api](const HeldFootage& held) {
      auto& store = api->transactions().store();
      for (const TillConfig& till : configs.current()->tills) {
        const auto cutoff = store.oldest_footage(till.cameras);
        if (!cutoff) continue;
        const int gone = store.delete_before(till.id, *cutoff, [&](WallTime at) {
          return std::any_of(till.cameras.begin(), till.cameras.end(),
                             [&](const std::string& c) { return held.is_held(c, at, at); });
        });
        if (gone > 0) {
          spdlog::info("retention: till {}: {} transaction(s) older than its footage deleted",
                       till.id, gone);
        }
      }
    });
    api->transactions().on_stored(
        [&configs, &till_rules, &till_zone, &clock](const transactions::Transaction& t) {
          const auto now = configs.current();
          if (const TillConfig* till = now->find_till(t.till_id)) {
            till_rules->judge(t, *till, till_zone, clock.wall_now());
          }
        });
    for (const TillConfig& till : config.tills) {
      if (!till.printer_listen.empty()) {
        printer_taps.push_back(start_printer_tap(till, *api, clock));
      }
    }
    http = std::make_unique<HttpServer>(
        config.http, [&api](const http::Request& r) { return api->handle(r); },
        [&api](const std::string& method, std::string_view path) {
          return api->classify(method, path);
        },
        &components);
    api->set_on_setup_done([dir = config.data_dir] { remove_setup_link(dir); });
    http->start();
    spdlog::info("web interface: open {} in a browser", http->url());
    if (auto token = api->setup_token()) {
      // Printed once per start while no user exists; whoever reads this log (the journal under
      // systemd) or the data directory may create the first admin, which is why it is only
      // there and never served.
      const std::string link = setup_link(http->url(), *token);
      spdlog::warn("no users yet: open {} to create the first admin with setup token {} "
                   "(`vigil setup-url` prints the link again; `vigil user add NAME --role admin` "
                   "makes an admin offline)",
                   link, *token);
      try {
        write_setup_link(config.data_dir, link);
      } catch (const Error& e) {
        spdlog::warn("setup link not kept for `vigil setup-url`: {}", e.what());
      }
    } else {
      remove_setup_link(config.data_dir);  // left by a start before the first admin was made
    }
  }
  service.start();
  notify_ready("recording " + std::to_string(config.cameras.size()) + " camera(s)" +
               (http ? ", web interface at " + http->url() : std::string()));
  // This thread waits for signals; status.json is written by the service's "status" thread.
  // Under a systemd watchdog it also wakes every half period and pings the watchdog once the
  // recorder has answered for its status (which takes the recorder's camera lock): a vigil
  // whose recorder deadlocked, or whose main loop hung, stops pinging and systemd restarts it.
  const auto watchdog = watchdog_ping_period();
  if (watchdog) notify_watchdog();
  for (;;) {
    int sig = 0;
    if (watchdog) {
      const auto ms = watchdog->count();
      const timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1'000'000};
      sig = sigtimedwait(&sigs, nullptr, &wait);
      if (sig < 0) {
        if (errno == EAGAIN) {
          try {
            (void)service.status_json();
          } catch (...) {
            // Not a hang: a failed status read is reported, and recording goes on.
            spdlog::error("watchdog: status: {}", describe_current_exception());
          }
          notify_watchdog();
        }
        continue;
      }
    } else if (sigwait(&sigs, &sig) != 0) {
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {}: stopping", sig);
      break;
    }
    if (sig == SIGHUP) {
      try {
        configs.reload();
      } catch (const Error& e) {
        spdlog::error("SIGHUP: configuration not reloaded, the running one stays: {}", e.what());
      } catch (...) {
        // Whatever applying it threw, vigil goes on recording what it can.
        spdlog::error("SIGHUP: applying the new configuration failed: {}",
                      describe_current_exception());
      }
    }
  }
  notify_stopping();
  if (http) http->stop();
  if (api) api->stop_probes();  // a probe answers through the server: before it is destroyed
  service.stop();
  try {
    service.write_status_file();
  } catch (...) {
    spdlog::error("status: {}", describe_current_exception());
  }
  // A link whose token died with this process would only mislead `vigil setup-url`.
  remove_setup_link(config.data_dir);
  spdlog::info("stopped; every open segment was closed");
  return 0;
}

// Walks the audit log's hash chain (catalog/audit_chain.h); the number of broken rows.
int64_t check_audit_chain(const std::string& catalog_location) {
  const auto db = sql::open(catalog_location);
  db->set_read_only();
  const AuditChainReport r = walk_audit_chain(*db);
  if (const auto& b = r.first_break) {
    const AuditEntry& e = b->row;
    std::cout << "audit: chain broken at row " << e.id << " (" << format_iso8601(e.at) << ", "
              << e.action << "): ";
    switch (b->kind) {
      case AuditBreak::Kind::kModified:
        std::cout << "the row was modified (it does not match its link)";
        break;
      case AuditBreak::Kind::kDeleted:
        std::cout << "row(s) " << (b->previous_id + 1) << ".." << (e.id - 1)
                  << " before it were deleted";
        break;
      case AuditBreak::Kind::kInserted:
        std::cout << "the row was inserted (the row after it follows from row "
                  << b->previous_id << ")";
        break;
      case AuditBreak::Kind::kUnlinked:
        std::cout << "the row has no link: it was written around vigil";
        break;
    }
    std::cout << "; " << r.broken_rows << " broken row(s) in all\n";
  }
  std::cout << "audit: checked " << r.rows << " row(s): chain " << (r.ok() ? "intact" : "BROKEN")
            << ", head " << to_hex(r.head) << "\n";
  return r.broken_rows;
}

int run_check(const Config& config, bool repair, bool hashes, bool audit) {
  if (config.catalog_is_file() && !std::filesystem::exists(config.catalog_location())) {
    std::cout << "no catalog at " << config.catalog_location() << ": nothing recorded yet\n";
    return 0;
  }
  DataDirLock lock(config.data_dir);
  if (repair && !lock.acquired()) {
    std::cerr << "vigil check: vigil serve is running on " << config.data_dir.string()
              << "; stop it before --repair\n";
    return 3;
  }
  Catalog catalog(config.catalog_location());
  CheckOptions opt;
  opt.repair = repair;
  opt.verify_hashes = hashes;
  opt.include_open = lock.acquired();
  const CheckReport r = check_catalog(catalog, config.data_dir, opt);
  int unrepaired = 0;
  int altered = 0;
  for (const auto& i : r.issues) {
    std::cout << (i.repaired ? "repaired: " : "mismatch: ") << i.path << ": " << i.problem;
    if (!i.camera_id.empty()) std::cout << " [camera " << i.camera_id;
    if (!i.camera_id.empty() && i.at) std::cout << ", " << format_iso8601(*i.at);
    if (!i.camera_id.empty()) std::cout << "]";
    std::cout << "\n";
    unrepaired += i.repaired ? 0 : 1;
    altered += i.altered ? 1 : 0;
  }
  for (const auto& i : r.unverified) std::cout << "unverified: " << i.path << ": " << i.problem << "\n";
  if (altered) {
    // Tampering is an event of its own in the audit log (who ran the check, what it found).
    AccountStore accounts(config.catalog_location());
    for (const auto& i : r.issues) {
      if (!i.altered) continue;
      AuditEntry e;
      e.at = SystemClock().wall_now();
      e.address = "cli";
      e.action = "footage_altered";
      if (!i.camera_id.empty()) e.camera_id = i.camera_id;
      e.range_start = i.at;
      e.detail = i.path + ": " + i.problem;
      accounts.append_audit(e);
    }
  }
  std::cout << "checked " << r.segments << " segment(s)";
  if (r.archived) std::cout << " (" << r.archived << " archived, not read)";
  std::cout << ", " << r.files << " file(s), "
            << r.chain_entries << " chain entries and " << r.checkpoints
            << " signed checkpoint(s)";
  if (r.tsa_tokens) std::cout << " (" << r.tsa_tokens << " with an RFC 3161 timestamp)";
  std::cout << ": " << r.mismatches() << " mismatch(es)";
  if (altered) std::cout << ", " << altered << " ALTERED";
  if (!r.unverified.empty()) std::cout << ", " << r.unverified.size() << " unverified";
  if (repair) std::cout << ", " << (r.mismatches() - unrepaired) << " repaired";
  if (!lock.acquired()) std::cout << " (vigil serve is running: open segments not judged)";
  std::cout << "\n";
  const int64_t audit_broken = audit ? check_audit_chain(config.catalog_location()) : 0;
  return unrepaired || audit_broken ? 1 : 0;
}

// `vigil key show`: the public key that signs checkpoints now, and every older one (still valid
// for what it signed). `vigil key rotate`: a new key, used from the next start of vigil serve.
int run_key(const Config& config, bool rotate) {
  if (rotate) {
    const KeyPair k = rotate_signing_key(config.data_dir);
    std::cout << "new signing key " << key_fingerprint(k.public_key)
              << "; it signs from the next start of vigil serve, older keys stay valid for what "
                 "they signed\n";
    if (!config.catalog_is_file() || std::filesystem::exists(config.catalog_location())) {
      Catalog catalog(config.catalog_location());
      catalog.add_signing_key(SigningKeyRow{key_fingerprint(k.public_key),
                                            public_key_pem(k.public_key),
                                            SystemClock().wall_now()});
    }
    return 0;
  }
  const auto keys = stored_public_keys(config.data_dir);
  if (keys.empty()) {
    std::cout << "no signing key yet: vigil serve creates one in "
              << (config.data_dir / "keys").string() << " at its first start\n";
    return 1;
  }
  for (size_t i = keys.size(); i-- > 0;) {
    std::cout << (i + 1 == keys.size() ? "current key" : "older key") << " (" 
              << keys[i].pem_file.string() << ")\nfingerprint: " << keys[i].fingerprint << "\n"
              << public_key_pem(keys[i].public_key);
  }
  return 0;
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
    std::cout << to_json_text(j, 2) << "\n";
    return stale ? 1 : 0;
  }
  // status.json is cleaned when written, but it is a file anyone in vigil's group may edit and
  // this goes to a terminal: every text is cleaned again, so no escape sequence reaches it.
  auto text = [](const nlohmann::json& o, const char* key) {
    return clean_text(o.value(key, std::string()));
  };
  if (stale) {
    std::cout << "vigil serve is not running (last status " << text(j, "updated_at")
              << ")\n";
  }
  std::printf("%-16s %-10s %6s %10s %-14s %10s %11s  %s\n", "CAMERA", "STATE", "FPS", "BITRATE",
              "VIDEO", "RECONNECTS", "STORED", "LAST ERROR");
  for (const auto& c : j["cameras"]) {
    char video[32];
    std::snprintf(video, sizeof video, "%s %dx%d", text(c, "video_codec").c_str(),
                  c.value("width", 0), c.value("height", 0));
    std::string err = text(c, "last_error");
    if (!text(c, "record_error").empty()) err = "recording: " + text(c, "record_error");
    std::printf("%-16s %-10s %6.1f %7.0f kb/s %-14s %10lld %11s  %s\n",
                text(c, "id").c_str(), stale ? "unknown" : text(c, "state").c_str(),
                c.value("fps", 0.0), c.value("bitrate_bps", 0.0) / 1000, video,
                static_cast<long long>(c.value("reconnects", 0)),
                human_bytes(c.value("stored_bytes", 0.0)).c_str(), err.c_str());
  }
  if (j.contains("key_fingerprint")) {
    std::cout << "signing key: " << j["key_fingerprint"].get<std::string>() << "\n";
  }
  if (j.contains("tsa")) {
    // RFC 3161 (app/tsa_stamper.h): what was timestamped, and what was kept without a token.
    const nlohmann::json& t = j["tsa"];
    std::cout << "timestamps (" << t.value("url", "") << "): " << t.value("timestamped", 0)
              << " granted, " << t.value("pending", 0) << " pending, "
              << t.value("untimestamped", 0) << " kept untimestamped";
    const std::string err = t.value("last_error", "");
    if (!err.empty()) std::cout << " (last error: " << err << ")";
    std::cout << "\n";
  }
  if (j.contains("archive")) {
    // The archive tier (archive/archiver.h): what went up, and what waits on this disk.
    const nlohmann::json& a = j["archive"];
    std::cout << "archive (" << a.value("store", "") << "): " << a.value("uploaded", 0)
              << " uploaded, " << a.value("waiting", 0) << " waiting ("
              << human_bytes(a.value("waiting_bytes", 0.0)) << ")";
    if (!a.value("reachable", true)) {
      std::cout << ", UNREACHABLE: " << a.value("last_error", "");
    }
    std::cout << "\n";
  }
  if (j.contains("disk_free_bytes")) {
    std::cout << "disk free: " << human_bytes(j["disk_free_bytes"].get<double>()) << "\n";
  }
  // Components that failed since vigil started (core/supervision.h): each was restarted.
  bool header = false;
  for (const auto& c : j.value("components", nlohmann::json::array())) {
    if (c.value("failures", int64_t{0}) == 0) continue;
    if (!header) std::cout << "failures (each restarted):\n";
    header = true;
    std::string who = text(c, "component");
    if (!text(c, "camera").empty()) who += " (camera " + text(c, "camera") + ")";
    if (!text(c, "target").empty()) who += " (" + text(c, "target") + ")";
    std::printf("  %s: %s, %lld failure(s), last at %s: %s\n", who.c_str(),
                stale                              ? "unknown"
                : c.value("restarting", false)     ? "restarting"
                : c.value("failed", false)         ? "failed lately"
                                                   : "running again",
                static_cast<long long>(c.value("failures", int64_t{0})),
                text(c, "last_failure_at").c_str(), text(c, "last_error").c_str());
  }
  return stale ? 1 : 0;
}

// `vigil setup-url`: the first-run link vigil serve logged (setup_link.h), again.
int run_setup_url(const Config& config) {
  if (const auto link = read_setup_link(config.data_dir)) {
    std::cout << *link << "\n";
    return 0;
  }
  std::cout << "no setup link in " << config.data_dir.string()
            << ": the first admin exists already (log in), or vigil serve is not running; "
               "`vigil user add NAME --role admin` makes an admin offline\n";
  return 1;
}

// Exit 0 only when everything in the bundle holds; 1 for a bundle that does not verify, 3 when
// the check itself could not run.
int run_verify(const std::string& bundle, const std::string& trusted_key, const std::string& tsa_ca) {
  std::optional<std::string> trusted;
  if (!trusted_key.empty()) {
    std::string fp;
    for (char c : trusted_key) {
      if (c != ':' && c != ' ') fp += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    trusted = fp;
  }
  try {
    std::optional<std::filesystem::path> ca;
    if (!tsa_ca.empty()) ca = tsa_ca;
    const VerifyReport r = verify_evidence_bundle(bundle, trusted, ca);
    std::cout << "bundle:      " << bundle << "\n" << format_verify_report(r, trusted);
    return r.ok ? 0 : 1;
  } catch (const std::exception& e) {
    // Not the bundle's fault (the verifier returns verdicts for bad input): e.g. out of memory.
    std::cerr << "vigil verify: " << bundle << ": " << e.what() << "\n";
    return 3;
  }
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  using namespace vigil;
  CLI::App app{"vigil — a CCTV recorder: records IP cameras around the clock, crash-safe"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  // "vigil.toml" in a build tree; /etc/vigil/vigil.toml in the Debian package, so that
  // `vigil setup-url` or `vigil status` typed by an admin reads the service's configuration.
  std::string config_file = VIGIL_CONFIG_FILE;
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
  auto* key = app.add_subcommand("key", "the key that signs the recordings' hash chains");
  key->require_subcommand(1);
  auto* key_show = key->add_subcommand("show", "print the public keys and their fingerprints");
  auto* key_rotate = key->add_subcommand("rotate", "start a new signing key (older ones stay valid)");
  bool audit = false;
  check->add_flag("--audit", audit, "also walk the audit log's hash chain");
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
                       "comma-separated camera ids this user may see, or '*' for every camera "
                       "(required unless --role admin)");
  auto* user_list = user->add_subcommand("list", "list users");
  auto* user_passwd = user->add_subcommand(
      "passwd", "set a user's password (from the terminal or stdin); ends their sessions");
  user_passwd->add_option("name", user_name, "user name")->required();
  auto* user_remove =
      user->add_subcommand("remove", "remove a user with their sessions and API tokens");
  user_remove->add_option("name", user_name, "user name")->required();

  std::string bundle_file;
  std::string trusted_key;
  auto* verify = app.add_subcommand(
      "verify", "check an evidence bundle offline (no catalog, no configuration needed)");
  verify->add_option("bundle", bundle_file, "the bundle (.zip)")->required();
  verify->add_option("--key", trusted_key,
                     "fingerprint of the recorder key you trust (vigil key show); without it only "
                     "the bundled key is checked");
  std::string tsa_ca;
  verify->add_option("--tsa-ca", tsa_ca,
                     "PEM file of the time-stamping authority's CA, to check RFC 3161 tokens' "
                     "signatures (without it only that each token is for its checkpoint)");

  DiscoverOptions discover_options;
  auto* discover = app.add_subcommand(
      "discover", "find ONVIF cameras (WS-Discovery) and, with --user/--password, their streams");
  discover->add_option("--address", discover_options.addresses,
                       "probe this camera directly (IPv4[:port], repeatable)");
  discover->add_option("--subnet", discover_options.subnet,
                       "probe every host of this subnet directly (e.g. 192.168.1.0/24, at most /22)");
  discover->add_option("--device", discover_options.devices,
                       "read this device service URL without probing (repeatable)");
  discover->add_flag("--multicast", discover_options.multicast,
                     "also send the multicast probe (the default when nothing else is named)");
  discover->add_option("--interface", discover_options.interface_address,
                       "send the multicast probe out of the interface with this IPv4 address");
  discover->add_option("--user", discover_options.user, "camera user name (reads profiles)");
  discover->add_option("--password", discover_options.password, "camera password");
  discover->add_option("--wait", discover_options.wait_ms, "how long to wait for answers (ms)")
      ->capture_default_str()
      ->check(CLI::Range(100, 30'000));
  discover->add_flag("--json", discover_options.json, "print the result as JSON");
  ExportCommand export_cmd;
  auto* export_ = app.add_subcommand(
      "export", "write an evidence bundle (or with --plain an MP4) of a camera's footage, offline");
  export_->add_option("--camera", export_cmd.camera, "camera id")->required();
  export_->add_option("--from", export_cmd.from,
                      "start, ISO 8601 with a zone: 2026-12-04T21:00:00Z or "
                      "2026-12-04T22:00:00+01:00")
      ->required();
  export_->add_option("--to", export_cmd.to, "end, ISO 8601 with a zone")->required();
  export_->add_option("--out", export_cmd.out, "the file to write (.zip, or .mp4 with --plain)")
      ->required();
  export_->add_flag("--plain", export_cmd.plain,
                    "a plain MP4 (remuxed, nothing to verify it with) instead of the bundle");
  auto* setup_url = app.add_subcommand(
      "setup-url", "print the first-run link (with its one-time token) that vigil serve logged");

  CLI11_PARSE(app, argc, argv);
  // Nothing vigil writes is for other users: the catalog holds password and token hashes, the
  // recordings are footage. Group members (e.g. a backup user) may read; others get nothing.
  ::umask(0027);
  if (sodium_init() < 0) {
    std::cerr << "vigil: libsodium failed to initialize\n";
    return 3;
  }
  // Before the configuration: whoever verifies a bundle usually has no vigil.toml.
  if (*verify) return run_verify(bundle_file, trusted_key, tsa_ca);
  if (*discover) return run_discover(discover_options);
  setup_logging(log_level);
  std::unique_ptr<ConfigStore> configs;
  try {
    configs = std::make_unique<ConfigStore>(config_file);
  } catch (const Error& e) {
    std::cerr << "vigil: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  const Config& config = *configs->current();
  try {
    if (*serve) return run_serve(*configs);
    if (*check) return run_check(config, repair, hashes, audit);
    if (*status) return run_status(config, as_json);
    if (*setup_url) return run_setup_url(config);
    if (*key_show) return run_key(config, false);
    if (*key_rotate) return run_key(config, true);
    if (*export_) return run_export(config, export_cmd);
    if (*user_add) return run_user_add(config, user_name, user_role, user_cameras);
    if (*user_list) return run_user_list(config);
    if (*user_passwd) return run_user_passwd(config, user_name);
    if (*user_remove) return run_user_remove(config, user_name);
  } catch (const Error& e) {
    spdlog::critical("{}", e.what());
    return 3;
  } catch (const std::exception& e) {
    spdlog::critical("unexpected: {}", e.what());
    return 3;
  }
  return 0;
}
