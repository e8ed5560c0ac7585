// vigil's configuration: the TOML file the operator writes (docs/config.md is the reference).
// Every setting has a safe default; a wrong one is rejected when loading with the file, the key,
// the value and the reason, so vigil never starts half-configured.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

enum class RtspTransport { kTcp, kUdp };
// Which RTSP client reads a camera: vigil's own (TCP interleaved only; cheaper per camera) or
// FFmpeg's libavformat (also UDP and rtsps://). See docs/design/ingest.md.
enum class RtspClient { kNative, kFfmpeg };
// Which challenges vigil answers with the camera's password over plain rtsp://. Digest only by
// default: Basic sends the password in clear, to anyone who can answer a 401 on the camera's
// address. `auth = "basic"` allows it for old cameras that know nothing else.
enum class RtspAuth { kDigest, kBasic };
// What is recorded of a camera's audio: AAC as sent (G.711 skipped: MP4 players cannot play
// it), or also G.711 converted to AAC on ingest (ingest/audio_transcoder.h).
enum class CameraAudio { kAsSent, kAac };

struct RetentionLimits {
  std::optional<int> max_days;          // keep footage at most this many days
  std::optional<uint64_t> max_bytes;    // keep at most this many bytes of footage
};

// ---- Events: schedules, event settings, notifications (docs/config.md, "Events and alerts") ----

// One armed period of the week, in the configured local time zone. Times are minutes since
// local midnight; `to` <= `from` runs past midnight into the next day, which still belongs to
// the day it started on ("fri 19:00-07:00" arms Saturday until 07:00).
struct ScheduleEntry {
  std::string zone;                // "" = every event of the camera; else events touching it
  std::vector<std::string> types;  // detection type names; empty = every type
  uint8_t days = 0x7f;             // bit 0 = Monday ... bit 6 = Sunday
  std::chrono::minutes from{0};
  std::chrono::minutes to{24 * 60};
};

struct EventSettings {
  // The condition must hold on every analysed frame this long before an event starts.
  std::chrono::milliseconds min_duration{1'000};
  // An event ends when its condition has not been seen for this long; a new start within the
  // gap continues the same event.
  std::chrono::milliseconds merge_gap{5'000};
  // Footage kept and exported around an event.
  std::chrono::milliseconds pre_roll{5'000};
  std::chrono::milliseconds post_roll{5'000};
  // IANA zone name ("Europe/Berlin") for schedules; "" = the host's local time zone.
  std::string time_zone;
  size_t queue_limit = 1'000;  // event changes waiting for the catalog writer
};

struct MqttSettings {
  std::string host;  // "" = MQTT off
  int port = 1883;
  std::string prefix = "vigil";
  std::string client_id = "vigil";
  std::string username;
  std::string password;
  // TLS to the broker (MQTT over TLS, usually port 8883): the broker's certificate is checked
  // against `ca_file` (a PEM file, for a private CA) or else the system's trust store
  // (/etc/ssl/certs), and its host name against `host`.
  bool tls = false;
  std::filesystem::path ca_file;
  bool discovery = true;  // Home Assistant MQTT discovery
  std::string discovery_prefix = "homeassistant";
  std::chrono::seconds keepalive{30};
  size_t queue_limit = 1'000;
  // A message not sent within this long (broker down) is dropped and counted.
  std::chrono::milliseconds retry_for{60'000};
};

struct WebhookTarget {
  std::string url;  // http:// or https://
  std::string secret;  // HMAC-SHA256 key for X-Vigil-Signature; "" = unsigned
  // https:// only: the server's certificate is checked against this PEM file (a private CA)
  // instead of the system's trust store.
  std::filesystem::path ca_file;
  std::vector<std::string> types;  // detection type names; empty = every type
  std::chrono::milliseconds timeout{5'000};
  int max_attempts = 5;
  std::chrono::milliseconds retry_initial{1'000};  // doubles each attempt, capped at 60 s
  size_t queue_limit = 1'000;
};

// Recording mode of a camera: everything, or only footage within events plus pre/post roll
// (the recorder writes everything; retention removes the rest: docs/design/events.md).
enum class RecordMode { kContinuous, kEvents };

// ---- end of events settings ----
// ---- Analysis (motion, tampering): per camera, [camera.analysis] and [[camera.zone]] ----------
// See docs/config.md (Analysis) and docs/design/analysis.md.

// A polygon in normalised picture coordinates: (0,0) top left, (1,1) bottom right.
struct ZoneConfig {
  std::string name;  // [a-z0-9_-]{1,32}, unique per camera; reported with motion
  std::vector<std::pair<float, float>> points;  // at least 3 (x, y)
  // A mask: motion inside is ignored (a tree, a road, a clock). Not reported as a zone.
  bool mask = false;
};

// Which frames of the analysed stream are decoded. kAuto: every frame of a sub stream; on the
// main stream keyframes while idle, every frame while something moves (kAdaptive).
enum class AnalysisDecode { kAuto, kAll, kAdaptive };

struct AnalysisSettings {
  // Off unless asked for: analysis costs a decoder per camera, many times what recording costs
  // (docs/design/analysis.md), so the operator chooses which cameras (ideally with a sub stream).
  bool enabled = false;
  // Frames analysed per second at most while decoding every frame (idle main streams analyse
  // their keyframes only).
  double fps = 5;
  // 1..100: higher finds fainter and smaller changes (and more noise).
  int sensitivity = 60;
  // The smallest moving area that counts, as a fraction of the picture (0.002 = 0.2 %).
  double min_area = 0.002;
  AnalysisDecode decode = AnalysisDecode::kAuto;
  bool tamper = true;  // covered / defocused / moved detection
  // No frames for this long: signal lost.
  std::chrono::milliseconds signal_timeout{10'000};
  // With zones (not masks) configured, only motion inside them counts.
  std::vector<ZoneConfig> zones;
};

// ---- end of analysis settings ----------------------------------------------------------------

// A recorded sub stream lives in the catalog as a camera of its own id, "<camera>.sub": its
// segments, hash chain, retention and usage are kept apart from the main stream's by the id
// alone. '.' cannot appear in a configured id, so the two never clash (storage.md, "Streams").
inline std::string sub_stream_id(const std::string& camera_id) { return camera_id + ".sub"; }
// The configured camera a catalog camera id belongs to: itself, or the camera of a sub stream.
// Holds and rights are the camera's, whichever stream.
std::string camera_of_stream(const std::string& catalog_id);

struct CameraConfig {
  std::string id;    // [a-z0-9_-]{1,32}; used in paths, URLs and the catalog
  std::string name;  // for people
  std::string url;   // main stream, recorded; may contain credentials (never logged)
  std::string sub_url;  // optional low-resolution stream: analysis, and recorded with record_sub
  // Also record the sub stream, as the stream "sub" (needs sub_url): a long low-resolution
  // history beside the main stream (docs/design/storage.md, "Streams").
  bool record_sub = false;
  // ONVIF device service (http(s)://user:pass@host/onvif/device_service), for PTZ; empty: none.
  // May contain credentials (never logged), like `url`.
  std::string onvif_url;
  std::string onvif_profile;  // the media profile PTZ commands name; empty: the first with PTZ
  bool enabled = true;
  RtspTransport transport = RtspTransport::kTcp;
  RtspClient client = RtspClient::kNative;  // used where it can be (tcp, rtsp://)
  RtspAuth auth = RtspAuth::kDigest;
  CameraAudio audio = CameraAudio::kAsSent;  // audio = "auto" | "aac"
  RetentionLimits retention;  // merged with the global defaults at load time
  // The recorded sub stream's own limits ([camera.sub_retention]); what is unset is the camera's.
  RetentionLimits sub_retention;
  std::vector<ScheduleEntry> schedule;  // events: armed times; empty = always armed
  RecordMode record = RecordMode::kContinuous;  // events: record = "continuous" | "events"
  AnalysisSettings analysis;  // [camera.analysis], [[camera.zone]]
};

// ---- Tills: [[till]], [till.map], [till.rules] (docs/transactions.md) -----------------------

// Loss-prevention rules of one till: each one that matches a stored transaction raises an event
// of type "transaction" on the till's cameras (transactions/exception_rules.h).
struct TillRules {
  std::optional<int64_t> refund_above_minor;  // a refund whose total is above this (minor units)
  std::optional<int64_t> void_above_minor;    // a void whose total is above this
  bool no_sale = false;                       // every no_sale (drawer opened without a sale)
  // Opening hours in the events' time zone, minutes since local midnight; a transaction outside
  // them is an exception. Unset: no such rule. `open_to` <= `open_from` runs past midnight.
  std::optional<std::chrono::minutes> open_from;
  std::optional<std::chrono::minutes> open_to;
  // More than `burst_count` refunds or voids within `burst_window` at the till (0: no rule).
  int burst_count = 0;
  std::chrono::minutes burst_window{10};
  // A drawer_open with no drawer_close within this long (0: no such rule).
  std::chrono::seconds drawer_open_limit{0};
  // A zone of the till's first camera on the customer's side of the counter ("" = no rule): a
  // sale, refund, void or no_sale with no motion in it within `customer_window` either side of
  // its moment is an exception (nobody at the counter).
  std::string customer_zone;
  std::chrono::seconds customer_window{30};
  bool operator==(const TillRules&) const = default;
};

struct TillConfig {
  std::string id;    // [a-z0-9_-]{1,32}, like a camera id; in URLs, tokens and the catalog
  std::string name;  // for people
  std::vector<std::string> cameras;  // configured camera ids that watch the till
  // Added to the till's own clock to get the moment on vigil's (the footage's) clock.
  std::chrono::milliseconds clock_offset{0};
  // Receipt-printer tap: "host:port" to listen on and the real printer to forward to ("" = off).
  std::string printer_listen;
  std::string printer_forward;
  // What the till sends its printer: "esc-pos" (Epson and most others), "star-prnt" or
  // "star-line" (Star Micronics); validated here, read by the printer tap.
  std::string printer_language = "esc-pos";
  // ECMAScript regular expressions matched against each receipt line (printer tap). The total's
  // first group is the amount ("12.50", "1.234,50").
  std::string total_pattern = R"((?:TOTAL|Total|SUMME|Summe|TOTAAL)\s*:?\s*[A-Z$]*\s*([0-9][0-9.,]*))";
  std::string refund_pattern = R"(\b(?:REFUND|Refund|RETURN|Return|ERSTATTUNG)\b)";
  std::string void_pattern = R"(\b(?:VOID|Void|STORNO|Storno)\b)";
  std::string qr_pattern = R"(\b(?:QR|PIX|UPI|PayNow|PromptPay|WeChat|Alipay)\b)";
  std::string card_pattern = R"(\b(?:CARD|Card|VISA|Visa|MASTERCARD|Mastercard|DEBIT|Debit|CREDIT|Credit|EC)\b)";
  std::string cash_pattern = R"(\b(?:CASH|Cash|BAR|Bar)\b)";
  // Provider webhook: vigil field -> JSON pointer (RFC 6901) into the provider's body.
  // Fields: total (minor units), amount (major units), currency, reference, kind, method, time, cashier, text. Anything of the body
  // not mapped is dropped (payer ids, phone numbers and names are never stored).
  std::vector<std::pair<std::string, std::string>> map;
  // HMAC-SHA256 key: the webhook's X-Signature header (hex, optionally "sha256=") must match the
  // body's HMAC. "" = unsigned webhooks are accepted.
  std::string webhook_secret;
  TillRules rules;
  bool operator==(const TillConfig&) const = default;
};

// ---- end of till settings ---------------------------------------------------------------------

struct IngestSettings {
  // A read that sees no data for this long means the camera is gone.
  std::chrono::milliseconds io_timeout{10'000};
  // Reconnect backoff: starts at backoff_initial, doubles, capped, with jitter.
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{30'000};
  // Once caught up with the camera, sleep this long before draining the socket again:
  // one wake-up per batch instead of one per RTP packet (see docs/design/ingest.md).
  std::chrono::milliseconds read_batch{100};
};

// The embedded HTTP server (serve): where it listens and the limits that keep one client from
// hurting the others. See docs/config.md, [http].
struct HttpSettings {
  bool enabled = true;
  // Loopback by default: exposing the recorder to a network is the operator's decision.
  std::string address = "127.0.0.1";
  int port = 8080;  // 0 = any free port (tests); the chosen URL is logged
  // TLS when both are set (PEM files); then the session cookie is also marked Secure.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  int threads = 2;  // I/O threads; request handlers run on a separate pool of the same size
  int max_connections = 256;
  uint64_t header_limit = 16 * 1024;   // request line + headers, bytes
  uint64_t body_limit = 1024 * 1024;   // default request body limit; a route may allow more
  // A request must arrive completely within read_timeout once it has started; an idle
  // keep-alive connection is closed after idle_timeout.
  std::chrono::milliseconds read_timeout{15'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // A new connection must send its first request's header within this long.
  std::chrono::milliseconds header_timeout{5'000};
  std::chrono::hours session_lifetime{24 * 7};  // a login lasts this long
  // Host header names (or addresses) accepted besides the defaults: the bind address, localhost,
  // the loopback addresses, the machine's names and addresses. "*" accepts any Host. Any other
  // Host gets 421: a web page that rebinds its own DNS name to vigil's address cannot use the
  // browser to reach vigil (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are
  // believed: for the login throttle, the audit log's address and the cookie's Secure flag.
  std::vector<std::string> trusted_proxies;
  // Password checks (Argon2, ~0.1 s each) waiting for the slow pool; beyond this a login is
  // answered 429 at once instead of queueing behind a flood (the login page stays responsive).
  int password_queue_limit = 16;
  // Connections one client address may hold at once (max_connections is the total).
  int max_connections_per_address = 64;
  // Admins must enrol a second factor (TOTP) before their session may do anything but that:
  // an admin account is the one worth a stolen or guessed password (docs/design/security.md).
  bool require_2fa_for_admins = false;
  // The built web UI (index.html and assets/) served at / (serve/static_files.h). Defaults to
  // the build's web/dist, so a fresh checkout serves its UI without configuration.
  std::filesystem::path web_root = default_web_root();

  static std::filesystem::path default_web_root();
};

// [exports]: bounds on clip and evidence exports (serve/export.h, docs/config.md "Exports"), so
// that no user, and not all users together, can fill the disk or make retention delete footage
// by exporting.
struct ExportSettings {
  int max_running = 4;           // queued or running, all users together
  int max_running_per_user = 2;  // queued or running, one user
  int max_stored_per_user = 10;  // finished exports kept (until they expire) for one user
  // Bytes of stored and running exports together; unset: half of min_free_space. At most
  // min_free_space: exports live in retention's free-space reserve (docs/design/security.md).
  std::optional<uint64_t> max_stored_bytes;
  bool operator==(const ExportSettings&) const = default;
};

// [audit]: a copy of every audit row to the local syslog (catalog/audit_syslog.h).
struct AuditSettings {
  bool syslog = false;
  std::filesystem::path syslog_socket = "/dev/log";  // journald and rsyslog listen here
};

// [integrity] tsa_*: RFC 3161 timestamps for signed checkpoints (app/tsa_stamper.h,
// docs/design/integrity.md "Trusted timestamps").
struct TsaSettings {
  std::string url;                 // tsa_url: http(s)://; empty: no timestamps are requested
  std::filesystem::path ca_file;   // tsa_ca: the TSA's CA (PEM); tokens are checked against it
  std::chrono::seconds timeout{10};       // tsa_timeout_seconds: one request, answer included
  std::chrono::seconds batch_period{60};  // tsa_batch_seconds: how often pending ones are sent
  // tsa_retry_seconds: how long a checkpoint's token is retried before the checkpoint is kept
  // untimestamped (and counted, logged, reported).
  std::chrono::seconds retry_for{600};
  // tsa_backlog_hours, tsa_backlog_max: at start, the checkpoints still without a token that
  // were made at most this long ago, at most this many (the newest), are requested too (made
  // while vigil was stopped or before tsa_url was set); 0 hours: none.
  std::chrono::hours backlog{24};
  int64_t backlog_max = 10'000;
  bool operator==(const TsaSettings&) const = default;
};

// [archive]: closed segments older than `after` go byte for byte to an S3-compatible object
// store and leave the local disk (archive/archiver.h, docs/design/cluster.md §5, docs/config.md).
struct ArchiveSettings {
  std::string bucket;    // from url = "s3://bucket/prefix"; empty: no archive
  std::string prefix;    // put before each segment's path; "" or ending in '/'
  std::string endpoint;  // http(s)://host[:port] of the store
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;  // never logged nor answered by the API
  std::filesystem::path ca_file;  // the store's CA (PEM); empty: the system's
  // after_days: a closed segment is uploaded once it ended this long ago (0: at once).
  std::chrono::seconds after{std::chrono::days(30)};
  uint64_t part_size = 16ull << 20;  // multipart above this (at least 5 MiB)
  bool etag_is_md5 = true;           // false for AWS buckets encrypted with SSE-KMS
  bool enabled() const { return !bucket.empty(); }
  bool operator==(const ArchiveSettings&) const = default;
};

// [catalog]: where the catalog lives. Unset: vigil.db in the data directory (SQLite); a
// postgresql:// URL: that PostgreSQL database (docs/design/cluster.md §1). Fixed for the life of
// vigil serve, like data_dir.
struct CatalogSettings {
  std::string url;  // "" or postgresql://...; holds a password: never logged (redact_url)
  bool operator==(const CatalogSettings&) const = default;
};

struct Config {
  std::filesystem::path source;  // the file it was read from, for messages
  std::filesystem::path data_dir;
  CatalogSettings catalog;
  // A new segment file starts at the first keyframe after this much media time.
  std::chrono::seconds segment_duration{120};
  // Retention keeps at least this much free space on the data directory's file system.
  uint64_t min_free_bytes = 1ull << 30;
  // The API reports the disk as low (a banner in the web UI) when less than this is free;
  // unset: half of min_free_space, i.e. retention is no longer keeping its reserve
  // (docs/config.md, disk_low_space).
  std::optional<uint64_t> disk_low_bytes;
  RetentionLimits default_retention;
  ExportSettings exports;
  IngestSettings ingest;
  HttpSettings http;
  std::vector<CameraConfig> cameras;
  // Events (see the block above CameraConfig).
  EventSettings events;
  MqttSettings mqtt;
  std::vector<WebhookTarget> webhooks;
  // [integrity] checkpoint_seconds: a signed checkpoint of each camera's hash chain at least
  // this often while it records (and at every segment close). docs/design/integrity.md.
  std::chrono::seconds checkpoint_period{60};
  TsaSettings tsa;
  AuditSettings audit;
  std::vector<TillConfig> tills;  // [[till]]
  ArchiveSettings archive;

  // What sql::open takes: [catalog] url, or the path of vigil.db in the data directory.
  std::string catalog_location() const;
  // Whether the catalog is the SQLite file (which may not exist yet) rather than a server.
  bool catalog_is_file() const { return catalog.url.empty(); }
  const CameraConfig* find_camera(const std::string& id) const;
  const TillConfig* find_till(const std::string& id) const;
};

// Parses TOML text; `source` names it in error messages. Throws Error(kInvalidArgument) with
// "<source>: <key> = <value>: <reason>". Relative data_dir is resolved against `base_dir`.
Config parse_config(const std::string& text, const std::string& source,
                    const std::filesystem::path& base_dir);
Config load_config(const std::filesystem::path& file);

// "10GiB", "500 MB", "1024" -> bytes; nullopt when malformed.
std::optional<uint64_t> parse_byte_size(const std::string& text);

}  // namespace vigil
