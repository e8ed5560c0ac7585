// The HTTP vocabulary of serve, independent of the network library: a fully read request, the
// response a handler returns, and the parsing of targets, queries and cookies. Everything here
// works on untrusted bytes and never throws on bad input: it returns nullopt instead.
// http_server.cpp converts between these and Boost.Beast's types; everything else (router, auth,
// API) is plain code that unit tests drive without sockets.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace vigil::http {

struct Request {
  std::string method;                          // "GET", "POST", ... as sent
  std::string target;                          // as sent: path and query, not decoded
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined with ", "
  std::string body;
  // The client's IP: the peer's, or the one a trusted proxy forwarded ([http] trusted_proxies).
  std::string remote_address;
  // Whether the client used HTTPS: vigil's own TLS, or X-Forwarded-Proto from a trusted proxy.
  bool tls = false;

  // Value of a header (lower-case name), "" when absent.
  std::string header(const std::string& lower_name) const;
  std::string_view path() const;   // target before '?'
  std::string_view query() const;  // target after '?', "" when none
};

// A response body produced over time (live view). The server sends it with chunked transfer
// encoding from its I/O threads, pulling one batch at a time, so a long-lived stream holds no
// handler thread and a client that reads slowly only delays its own pulls.
class BodyStream {
 public:
  // Shared, immutable bytes: one fragment is queued to many viewers without copies.
  using Chunks = std::vector<std::shared_ptr<const std::string>>;
  virtual ~BodyStream() = default;
  // Asks for the next bytes. `ready` is called exactly once, from any thread (at once when bytes
  // are queued): with every chunk queued since the last pull, or empty when the stream has ended.
  // The server pulls again only after it has written the previous batch.
  virtual void pull(std::function<void(Chunks)> ready) = 0;
  // The connection is finished (ended, failed or closed by the client). Called once, on the
  // handler pool (it may write the audit log). A pending `ready` may still run; it is ignored.
  virtual void close() = 0;
};

// A file opened for a response, closed when the last holder lets go. The server sends its bytes
// after the handler has returned, maybe for minutes to a slow client; the open descriptor keeps
// them readable even if retention or an export's expiry deletes the file meanwhile.
class OpenFile {
 public:
  // Opens `path` (from the catalog or the export queue, never from a request) read-only without
  // following a symlink. Throws Error(kNotFound) when it does not exist, kInternal otherwise.
  static std::shared_ptr<const OpenFile> open(const std::filesystem::path& path);
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  uint64_t size() const { return size_; }  // when opened
  const std::string& path() const { return path_; }
  // Reads up to `n` bytes at `offset` (pread: no shared file position, so any thread may read);
  // the count read, 0 at the end of the file. Throws Error(kInternal) naming the file.
  size_t read_at(uint64_t offset, char* out, size_t n) const;

 private:
  OpenFile(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

// `length` bytes of `file` from `offset`: a response body that is never in memory whole.
struct FileSlice {
  std::shared_ptr<const OpenFile> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  // When set, `body` is ignored and the server streams this instead (chunked, no keep-alive).
  std::shared_ptr<BodyStream> stream;
  // When set, `body` is ignored and the server sends these bytes with their Content-Length,
  // reading the file a bounded piece at a time as the client takes them (segment media, exports,
  // evidence bundles), so a download of any size costs one piece of memory.
  std::optional<FileSlice> file;

  static Response json(int status, const nlohmann::json& body);
  // The error shape of the whole API: {"error": "<short code>", "detail": "<for people>"}.
  static Response error(int status, const std::string& detail);
  static Response no_content();
  Response& with_header(std::string name, std::string value);
};

// The one place where vigil's error codes become HTTP statuses.
int status_for(ErrorCode code);
// The short machine-readable name of an error status ("not_found", "forbidden", ...).
const char* error_name(int status);

// What the server must know of a request from its request line alone, before reading the body.
struct RequestClass {
  uint64_t body_limit = 0;  // 0: the server's default
  // CPU-heavy (a password check): run on a pool of its own, so a flood of logins can slow
  // only other logins, never the rest of the API.
  bool slow = false;
};

// %XX decoding; '+' becomes ' ' only in queries. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// The path's segments, each percent-decoded. nullopt for a path that does not start with '/',
// or whose segments (after decoding) are "." or "..", or contain '/', '\\', NUL or other control
// characters: such a path is always an attack or a bug, and no route could want it.
std::optional<std::vector<std::string>> split_path(std::string_view path);

// "a=1&b=x%20y" -> {a: "1", b: "x y"}; a repeated key keeps its last value. nullopt when
// malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// "a=1; b=2" -> {a: "1", b: "2"}; malformed pairs are skipped.
std::map<std::string, std::string> parse_cookies(std::string_view header);

// Parses a JSON request body. Throws Error(kInvalidArgument) for malformed JSON, or nesting
// deeper than `max_depth` (a deep body could otherwise exhaust the stack of code that walks it).
nlohmann::json parse_json_body(const std::string& body, int max_depth = 32);

}  // namespace vigil::http
